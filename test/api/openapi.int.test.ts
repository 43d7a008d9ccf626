import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { makeApp, setupDatabase } from './fixtures.ts'

interface Operation {
  parameters?: Array<{ schema: object }>
  responses: Record<string, { content?: Record<string, { schema: object }> }>
}

test('/openapi.json: an OpenAPI 3 document with every route, parameters and responses', async (t) => {
  const { pool } = await setupDatabase(t)
  const app = await makeApp(t, pool)
  const res = await app.inject('/openapi.json')
  assert.equal(res.statusCode, 200)
  const doc = res.json()
  assert.match(doc.openapi, /^3\.\d+\.\d+$/)
  // Valid by the OpenAPI specification's own JSON schema (an independent validator).
  const validity = await new Validator().validate(doc)
  assert.ok(
    validity.valid,
    `not a valid OpenAPI document: ${String(JSON.stringify(validity.errors)).slice(0, 2000)}`,
  )
  assert.equal(typeof doc.info.title, 'string')
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  assert.equal(doc.info.version, pkg.version, 'the version is the package version')
  assert.deepEqual(
    doc.servers.map((s: { url: string }) => s.url),
    ['/'],
  )
  const expected = [
    '/health',
    '/ready',
    '/metrics',
    '/metrics/latest',
    '/metrics/history',
    '/state',
    '/streams',
    '/streams/top',
    '/dead-letters',
    '/prometheus',
    '/live',
  ]
  for (const path of expected) {
    const op = doc.paths[path]?.get
    assert.ok(op, `missing ${path}`)
    assert.ok(op.responses['200'], `${path} has no 200 response`)
    assert.equal(typeof op.summary, 'string', `${path} summary`)
    assert.match(op.operationId ?? '', /^get[A-Z]\w+$/, `${path} operationId`)
    for (const [status, response] of Object.entries(
      op.responses as Record<string, { description?: string }>,
    )) {
      assert.ok(
        response.description && response.description !== 'Default Response',
        `${path} ${status} has a description of its own`,
      )
    }
  }
  const operationIds = expected.map((p) => doc.paths[p].get.operationId)
  assert.equal(new Set(operationIds).size, operationIds.length, 'operationIds are unique')
  // A parameter with a default may be left out: none of them is marked required.
  for (const path of expected) {
    for (const p of doc.paths[path].get.parameters ?? []) {
      if (p.schema.default !== undefined) assert.notEqual(p.required, true, `${path} ${p.name} has a default`)
    }
  }
  const params = doc.paths['/metrics'].get.parameters.map(
    (p: { name: string; in: string }) => `${p.in}:${p.name}`,
  )
  assert.deepEqual(params.sort(), [
    'query:direction',
    'query:limit',
    'query:minutes',
    'query:order_by',
    'query:stream_id',
  ])
  const minutes = doc.paths['/metrics'].get.parameters.find((p: { name: string }) => p.name === 'minutes')
  assert.equal(minutes.schema.maximum, 1440)
  assert.ok(doc.paths['/metrics'].get.responses['400'])
  assert.ok(doc.paths['/prometheus'].get.responses['200'].content['text/plain'])
  assert.ok(doc.paths['/live'].get.responses['200'].content['text/event-stream'])
  // The dashboard's files are not API operations.
  assert.equal(doc.paths['/'], undefined)

  // Every parameter and response schema is a valid JSON Schema (2020-12, as OpenAPI 3.1 says).
  const ajv = new Ajv2020({ strict: false })
  addFormats.default(ajv)
  let compiled = 0
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const [method, op] of Object.entries(ops)) {
      assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} has responses`)
      for (const p of op.parameters ?? []) {
        ajv.compile({ ...p.schema, components: doc.components })
        compiled++
      }
      for (const r of Object.values(op.responses)) {
        for (const c of Object.values(r.content ?? {})) {
          ajv.compile({ ...c.schema, components: doc.components })
          compiled++
        }
      }
    }
  }
  assert.ok(compiled > 50, `${compiled} schemas compiled`)
  // Shared schemas are listed once, by name, and referenced.
  for (const name of ['WindowRow', 'StateRow', 'PipelineSummary', 'ErrorBody']) {
    assert.ok(doc.components.schemas[name], `components/schemas/${name}`)
  }
  const text = JSON.stringify(doc.paths)
  assert.ok(
    !text.includes('"active_viewers":{"type":"integer","description":"users present as the window closes"}'),
    'the window row is not inlined',
  )
  assert.match(text, /"\$ref":"#\/components\/schemas\/WindowRow"/)

  // Swagger UI with its assets served by the app itself (no CDN).
  const ui = await app.inject('/docs')
  assert.equal(ui.statusCode, 200)
  assert.match(ui.body, /swagger-ui/i)
  const bundle = await app.inject('/docs/static/swagger-ui-bundle.js')
  assert.equal(bundle.statusCode, 200)
  assert.match(bundle.headers['content-type'] as string, /javascript/)
})
