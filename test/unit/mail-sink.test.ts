// The dev mail sink (dev/mail-sink.ts): what it receives, stores and answers, including injected faults.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { MailSink, type MailSinkOptions } from '../../dev/mail-sink';

const sinks: MailSink[] = [];
after(async () => {
  await Promise.all(sinks.map((s) => s.close()));
});

async function startSink(opts?: MailSinkOptions): Promise<MailSink> {
  const sink = await MailSink.start({ port: 0, ...opts });
  sinks.push(sink);
  return sink;
}

function send(sink: MailSink, mail: SendMailOptions) {
  const transport = nodemailer.createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true });
  return transport.sendMail({ from: 'Recovery <no-reply@example.test>', ...mail });
}

describe('MailSink', () => {
  it('receives a real SMTP message with subject, recipients, text and html', async () => {
    const sink = await startSink();
    assert.equal(sink.host, '127.0.0.1');
    assert.ok(sink.port > 0);
    assert.equal(sink.url, `smtp://127.0.0.1:${sink.port}`);

    await send(sink, {
      to: 'alice@example.test',
      bcc: 'audit@example.test',
      subject: 'Reset your password',
      text: 'Open https://app.test/recover?token=abc',
      html: '<a href="https://app.test/recover?token=abc">Reset</a>',
    });

    const [m] = sink.list();
    assert.equal(sink.list().length, 1);
    assert.equal(m.subject, 'Reset your password');
    assert.deepEqual(m.to, ['alice@example.test', 'audit@example.test']);
    assert.match(m.from, /no-reply@example\.test/);
    assert.equal(m.text.trim(), 'Open https://app.test/recover?token=abc');
    assert.equal(m.html, '<a href="https://app.test/recover?token=abc">Reset</a>');
    assert.ok(m.messageId);
    assert.equal(m.headers['subject'], 'Reset your password');
    assert.ok(!Number.isNaN(Date.parse(m.receivedAt)));
    assert.equal(sink.get(m.id), m);

    sink.clear();
    assert.deepEqual(sink.list(), []);
  });

  it('waitFor resolves for a message sent after the call, and for an existing one', async () => {
    const sink = await startSink();
    const pending = sink.waitFor((m) => m.to.includes('bob@example.test'), 5000);
    await send(sink, { to: 'carol@example.test', subject: 'not for bob', text: 'x' });
    await send(sink, { to: 'bob@example.test', subject: 'for bob', text: 'y' });
    assert.equal((await pending).subject, 'for bob');

    const existing = await sink.waitFor((m) => m.subject === 'not for bob', 100);
    assert.deepEqual(existing.to, ['carol@example.test']);
    assert.deepEqual(
      sink.list().map((m) => m.subject),
      ['not for bob', 'for bob'],
      'list() is oldest first',
    );
  });

  it('waitFor times out with an error naming the subjects received', async () => {
    const sink = await startSink();
    await send(sink, { to: 'dave@example.test', subject: 'Something else', text: 'z' });
    await assert.rejects(
      sink.waitFor((m) => m.subject === 'never', 150),
      (e: Error) => {
        assert.match(e.message, /within 150 ms/);
        assert.match(e.message, /received 1 so far: \["Something else"\]/);
        return true;
      },
    );
  });

  it('persists messages to dir and reloads them after a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-sink-'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const first = await startSink({ dir });
    await send(first, { to: 'erin@example.test', subject: 'one', text: '1' });
    await send(first, { to: 'erin@example.test', subject: 'two', text: '2' });
    const ids = first.list().map((m) => m.id);
    await first.close();

    for (const id of ids) {
      assert.ok(fs.existsSync(path.join(dir, `${id}.json`)));
      assert.match(fs.readFileSync(path.join(dir, `${id}.eml`), 'utf8'), /^Subject: (one|two)$/m);
    }

    const second = await startSink({ dir });
    assert.deepEqual(
      second.list().map((m) => [m.id, m.subject]),
      [
        [ids[0], 'one'],
        [ids[1], 'two'],
      ],
    );
    await send(second, { to: 'erin@example.test', subject: 'three', text: '3' });
    assert.deepEqual(
      second.list().map((m) => m.subject),
      ['one', 'two', 'three'],
    );
    assert.equal(new Set(second.list().map((m) => m.id)).size, 3);
  });

  it('failPlan rejects at DATA with a 4xx that nodemailer reports, then a retry succeeds', async () => {
    const seen: Array<[number, string[]]> = [];
    const sink = await startSink({
      failPlan: (attempt, rcpt) => {
        seen.push([attempt, rcpt]);
        return attempt === 1 ? { code: 451, message: 'Try again later' } : null;
      },
    });
    const mail = { to: 'frank@example.test', subject: 'flaky', text: 'retry me' };

    await assert.rejects(send(sink, mail), (e: Error & { responseCode?: number }) => {
      assert.equal(e.responseCode, 451);
      assert.match(e.message, /Try again later/);
      return true;
    });
    assert.equal(sink.list().length, 0);

    await send(sink, mail);
    assert.deepEqual(
      sink.list().map((m) => m.subject),
      ['flaky'],
    );
    assert.deepEqual(seen, [
      [1, ['frank@example.test']],
      [2, ['frank@example.test']],
    ]);
  });

  it('rejects a message over ~1 MB with 552 and does not store it', async () => {
    const sink = await startSink();
    await assert.rejects(send(sink, { to: 'gina@example.test', subject: 'huge', text: 'x'.repeat(1100 * 1024) }), {
      responseCode: 552,
    });
    assert.deepEqual(sink.list(), []);
  });
});
