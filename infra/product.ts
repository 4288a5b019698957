// What this product calls itself in what it exports (OCSF metadata.product): its name and the
// version package.json gives.
import fs from 'node:fs';
import path from 'node:path';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };

export const PRODUCT = { name: 'Recovery Engine', vendorName: 'Recovery Engine project', version: pkg.version } as const;
