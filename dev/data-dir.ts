// One npm start per data folder: PGlite's files and the dev server's SQLite file must never be
// opened by two engines at once, so the first one holds a pid file; a second one is told in one line.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../infra/config';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Takes `<dir>/engine.pid` (a stale one, whose process is gone, is taken over); returns the release. */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, 'engine.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && alive(pid)) {
        throw new ConfigError(`DATA_DIR ${dir} is in use by another engine (pid ${pid}): stop it, or set DATA_DIR to another folder`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}
