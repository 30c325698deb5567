// Prints the failed tests of vitest JSON reports (.ci/run's passes), one line each with the first line of
// its failure, so the end of a CI log says what failed even when only the tail of the log is kept.
const fs = require("node:fs");
const path = require("node:path");

const failed = [];
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    failed.push(`${path.basename(file)}: no report (the pass did not finish)`);
    continue;
  }
  for (const suite of report.testResults ?? []) {
    const tests = suite.assertionResults ?? [];
    for (const test of tests.filter((t) => t.status === "failed")) {
      const reason = (test.failureMessages?.[0] ?? "").split("\n")[0].slice(0, 300);
      failed.push(`${path.basename(file, ".json")}: ${path.relative(process.cwd(), suite.name)} > ${test.fullName}: ${reason}`);
    }
    // A file that failed outside any test (a hook, an import) has no failed test to name.
    if (suite.status === "failed" && !tests.some((t) => t.status === "failed")) {
      failed.push(`${path.basename(file, ".json")}: ${path.relative(process.cwd(), suite.name)}: ${(suite.message ?? "").split("\n")[0].slice(0, 300)}`);
    }
  }
}
console.log(failed.length === 0 ? "ci: no failed tests" : `ci: ${failed.length} failed:\n${failed.map((line) => `  ${line}`).join("\n")}`);
