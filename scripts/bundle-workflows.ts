// `tsx scripts/bundle-workflows.ts <file>`: writes the workflow bundle to <file>, for workers to
// load through RECOVERY_WORKFLOW_BUNDLE instead of bundling at start (CI builds one for its chaos
// drills and benchmarks, whose engines start many worker processes).
import { writeWorkflowBundle } from '../boot/worker';

async function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: tsx scripts/bundle-workflows.ts <file>');
  await writeWorkflowBundle(out);
  process.stdout.write(`${out}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
