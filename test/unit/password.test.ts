// The new-password rule (domain/password.ts): length, the common list, the account's own context.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { checkNewPassword, PASSWORD_MAX, PASSWORD_MIN, type PasswordVerdict } from '../../domain/password';

const LIST = fs
  .readFileSync(path.join(__dirname, '..', '..', 'data', 'common-passwords.txt'), 'utf8')
  .split('\n')
  .filter((l) => l !== '');

function codeOf(v: PasswordVerdict): string {
  return v.ok ? 'ok' : v.code;
}

describe('checkNewPassword: length', () => {
  it('exports the 12..128 window', () => {
    assert.equal(PASSWORD_MIN, 12);
    assert.equal(PASSWORD_MAX, 128);
  });

  it('rejects passwords shorter than 12 characters', () => {
    for (const pw of ['', 'x', 'zq8vlm2kxw7']) {
      assert.equal(codeOf(checkNewPassword(pw)), 'password_too_short', `length ${pw.length}`);
    }
  });

  it('accepts 12 characters exactly', () => {
    assert.deepEqual(checkNewPassword('zq8vlm2kxw7p'), { ok: true });
  });

  it('accepts 128 characters', () => {
    assert.deepEqual(checkNewPassword('zq8vlm2kxw7p'.repeat(11).slice(0, 128)), { ok: true });
  });

  it('rejects 129 characters', () => {
    assert.equal(codeOf(checkNewPassword('zq8vlm2kxw7p'.repeat(11).slice(0, 129))), 'password_too_long');
  });

  it('counts code points not UTF-16 units', () => {
    const cat = '\u{1F408}'; // one code point, two UTF-16 units
    assert.equal(cat.repeat(11).length, 22);
    assert.equal(codeOf(checkNewPassword(cat.repeat(11))), 'password_too_short');
    assert.deepEqual(checkNewPassword(cat.repeat(12)), { ok: true });
    assert.deepEqual(checkNewPassword(cat.repeat(128)), { ok: true });
    assert.equal(codeOf(checkNewPassword(cat.repeat(129))), 'password_too_long');
  });

  it('counts after NFC normalisation', () => {
    const decomposedE = 'e\u0301'; // NFC folds this into the single code point U+00E9
    assert.equal(codeOf(checkNewPassword(decomposedE.repeat(6))), 'password_too_short');
    assert.deepEqual(checkNewPassword(decomposedE.repeat(12)), { ok: true });
  });

  it('does not trim whitespace', () => {
    // 10 visible characters + 2 spaces: only acceptable if the spaces count.
    assert.deepEqual(checkNewPassword(' zq8vlm2kxw '), { ok: true });
    assert.deepEqual(checkNewPassword('zq8vlm2kxw  '), { ok: true });
    assert.equal(codeOf(checkNewPassword('zq8vlm2kxw ')), 'password_too_short');
  });
});

describe('checkNewPassword: common list', () => {
  it('ships a lowercase, deduplicated list of 12..128 code point entries', () => {
    assert.ok(LIST.length >= 10_000, `only ${LIST.length} entries`);
    assert.equal(new Set(LIST).size, LIST.length);
    for (const p of LIST) {
      assert.equal(p, p.normalize('NFC').toLowerCase());
      const n = [...p].length;
      assert.ok(n >= PASSWORD_MIN && n <= PASSWORD_MAX, `entry of length ${n}`);
    }
  });

  it('rejects a password from the shipped common list, case-insensitively', () => {
    const famous = ['password1234', 'qwertyuiop12', 'iloveyou1234', '1qaz2wsx3edc', 'qwerty123456', 'administrator'];
    for (const pw of [...LIST.slice(0, 5), ...famous]) {
      assert.ok(LIST.includes(pw), `${pw} expected in the shipped list`);
      assert.equal(codeOf(checkNewPassword(pw)), 'password_common', pw);
      assert.equal(codeOf(checkNewPassword(pw.toUpperCase())), 'password_common', pw.toUpperCase());
    }
    assert.equal(codeOf(checkNewPassword('PassWord1234')), 'password_common');
    assert.equal(codeOf(checkNewPassword('QwertyUiop12')), 'password_common');
  });

  it('rejects the famous passphrase "correct horse battery staple" because the list contains it', () => {
    assert.equal(codeOf(checkNewPassword('Correct Horse Battery Staple')), 'password_common');
  });

  it('does not impose composition rules', () => {
    for (const pw of [
      'purple elephant dances quietly', // lowercase letters and spaces only
      'PURPLEELEPHANTDANCES', // uppercase only
      '846201937465', // digits only
      'zq8vlm2kxw7p', // no symbol, no uppercase
    ]) {
      assert.deepEqual(checkNewPassword(pw), { ok: true }, pw);
    }
  });
});

describe('checkNewPassword: context', () => {
  const context = ['Alice.Smith.Example', 'EXT-000123456789', ''];

  it('rejects a password equal to a context string, case-insensitively', () => {
    assert.equal(codeOf(checkNewPassword('alice.smith.example', context)), 'password_contextual');
    assert.equal(codeOf(checkNewPassword('ext-000123456789', context)), 'password_contextual');
  });

  it('accepts passwords that merely contain a context string', () => {
    assert.deepEqual(checkNewPassword('alice.smith.example!', context), { ok: true });
  });

  it('ignores empty context strings and defaults to no context', () => {
    assert.deepEqual(checkNewPassword('zq8vlm2kxw7p', ['']), { ok: true });
    assert.deepEqual(checkNewPassword('alice.smith.example'), { ok: true });
  });
});

describe('checkNewPassword: messages', () => {
  it('message never contains the password', () => {
    const cases: Array<[string, string[], string]> = [
      ['zq8vl', [], 'password_too_short'],
      ['zq8vlm2kxw7p'.repeat(11), [], 'password_too_long'],
      ['Password1234', [], 'password_common'],
      ['Alice.Smith.Example', ['alice.smith.example'], 'password_contextual'],
    ];
    for (const [pw, ctx, code] of cases) {
      const v = checkNewPassword(pw, ctx);
      assert.ok(!v.ok);
      assert.equal(v.code, code);
      assert.ok(v.message.length > 0);
      assert.ok(!v.message.toLowerCase().includes(pw.toLowerCase()), `${code} message echoes the password`);
    }
  });
});
