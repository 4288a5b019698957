// The strict body parser's pure parts (api/json-body.ts): which content types count as JSON in
// UTF-8, and duplicate-key detection with the path it names, at any nesting depth.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateKey, isJsonUtf8 } from '../../api/json-body';

describe('isJsonUtf8', () => {
  it('accepts application/json with no parameter or charset=utf-8, in any case', () => {
    for (const t of ['application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/json;'])
      assert.equal(isJsonUtf8(t), true, t);
  });
  it('refuses other types, charsets and parameters', () => {
    for (const t of [
      undefined,
      '',
      'text/plain',
      'application/json; charset=latin1',
      'application/json; charset=utf8',
      'application/json; x=1',
      'application/jsonx',
    ])
      assert.equal(isJsonUtf8(t), false, String(t));
  });
});

describe('duplicateKey', () => {
  it('finds none in JSON without duplicates, whatever the shape', () => {
    for (const text of ['{}', '[]', '"a"', '1', 'null', '{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}', '{"a":"a","b":"a"}'])
      assert.equal(duplicateKey(text), null, text);
  });
  it('names the duplicated key by its path', () => {
    assert.equal(duplicateKey('{"tenantId":"acme","tenantId":"other"}'), 'tenantId');
    assert.equal(duplicateKey('{"context":{"ip":"1","ip":"2"}}'), 'context.ip');
    assert.equal(duplicateKey('{"accounts":[{"id":1},{"id":2,"x":{},"id":3}]}'), 'accounts.1.id');
    assert.equal(duplicateKey('[{"a":1},{"b":[1,{"c":1,"c":2}]}]'), '1.b.1.c');
  });
  it('compares keys unescaped', () => {
    assert.equal(duplicateKey('{"a":1,"\\u0061":2}'), 'a');
    assert.equal(duplicateKey('{"a\\"b":1,"a\\u0022b":2}'), 'a"b');
  });
  it('walks any depth without recursion', () => {
    const depth = 200_000;
    assert.equal(duplicateKey('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)), null);
    assert.equal(duplicateKey('['.repeat(depth) + '{"k":1,"k":2}' + ']'.repeat(depth)), `${'0.'.repeat(depth)}k`);
  });
});
