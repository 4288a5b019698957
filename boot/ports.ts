// Ports are configuration: find a free one (tests, benchmarks), or check that a configured one is
// free before binding it and say in one line which variable moves it.
import net from 'node:net';

/** Some port the OS says is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
