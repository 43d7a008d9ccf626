#!/usr/bin/env node
// The `rtsa` command. rtsa's sources are TypeScript run by Node 24's type stripping.
const [major] = process.versions.node.split('.').map(Number)
if (major < 24) {
  console.error(`rtsa needs Node.js 24 or newer (this is ${process.version}); run it through npm (npm run rtsa -- ...) or npx rtsa, which use the project's Node 24.`)
  process.exit(1)
}
await import('../src/cli/main.ts')
