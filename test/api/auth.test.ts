/** The token a request presents: Bearer, or Basic's password; anything else (empty, huge, binary) is none. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { presentedToken, tokensOf } from '../../src/api/auth.ts'

const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`

test('Bearer and Basic (any user, the token as password) present a token', () => {
  assert.equal(presentedToken('Bearer abc'), 'abc')
  assert.equal(presentedToken('bearer   abc  '), 'abc')
  assert.equal(presentedToken(basic('me:abc')), 'abc')
  assert.equal(presentedToken(basic(':a:b')), 'a:b')
})

test('hostile headers present nothing: empty, no scheme, binary, huge, Basic without a colon', () => {
  for (const h of [
    undefined,
    '',
    'abc',
    'Bearer',
    'Bearer a b',
    'Token abc',
    basic('no-colon'),
    'Basic !!!not-base64!!!',
    `Bearer ${'x'.repeat(10_000)}`,
    '\u0000\u0001\uffff',
  ]) {
    assert.equal(presentedToken(h), undefined, JSON.stringify(h?.slice(0, 30)))
  }
})

test('API_TOKEN and API_TOKENS together; empty means none', () => {
  assert.deepEqual(tokensOf({}), [])
  assert.deepEqual(tokensOf({ apiToken: '' }), [])
  assert.deepEqual(tokensOf({ apiToken: 'a', apiTokens: ['b', 'c'] }), ['a', 'b', 'c'])
})
