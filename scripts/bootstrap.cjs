// Installs dependencies on a fresh clone (or after package-lock.json changed), then gets out of
// the way. Plain CommonJS: it runs before anything is installed.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lock = path.join(root, 'package-lock.json');
const marker = path.join(root, 'node_modules', '.package-lock.json');
const stale = !fs.existsSync(marker) || fs.statSync(marker).mtimeMs < fs.statSync(lock).mtimeMs;
if (stale) {
  console.error('bootstrap: installing dependencies...');
  execSync('bash scripts/install-deps.sh', { cwd: root, stdio: 'inherit' });
}
