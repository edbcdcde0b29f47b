// Prints the closing line of `npm test` and exits non-zero when anything failed.
// Arguments: the names of the steps that exited non-zero (lint, typecheck, jest, fuzz).
import { existsSync, readFileSync } from 'node:fs';

const failedSteps = new Set(process.argv.slice(2));
let passed = 0;
let failed = 0;

// Lint and typecheck are one check each.
for (const step of ['lint', 'typecheck']) {
  if (failedSteps.has(step)) failed += 1;
  else passed += 1;
}

// Jest: every test, plus every suite that failed before running its tests.
const jestFile = '.local/test-results.json';
if (existsSync(jestFile)) {
  const jest = JSON.parse(readFileSync(jestFile, 'utf8'));
  passed += jest.numPassedTests;
  failed += jest.numFailedTests + jest.numRuntimeErrorTestSuites;
} else {
  console.error('test-summary: Jest wrote no results');
  failed += 1;
}

// Fuzzing: the cases schemathesis generated (test/fuzz/run-schemathesis.ts writes the summary).
const fuzzFile = '.local/fuzz/summary.json';
if (existsSync(fuzzFile)) {
  const fuzz = JSON.parse(readFileSync(fuzzFile, 'utf8'));
  passed += fuzz.passed;
  failed += fuzz.failed;
} else {
  console.error('test-summary: the fuzzing run wrote no summary');
  failed += 1;
}

// A step that failed without any failing test still fails the run.
const unexplained = failed === 0 && failedSteps.size > 0;
if (unexplained) failed += failedSteps.size;
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 && failedSteps.size === 0 && passed > 0 ? 0 : 1;
