import type { Config } from 'jest';

/** TypeScript runs through ts-jest in native ESM mode (Middy 5+ is ESM-only). */
const transform: Config['transform'] = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};

const common = {
  transform,
  extensionsToTreatAsEsm: ['.ts'],
  // Holds back what tests write past Jest's console (Powertools' logs and metrics warnings)
  // and prints it only for a failing test.
  testEnvironment: '<rootDir>/test/support/quiet-environment.ts',
} satisfies Config;

/** Tiers as Jest projects: `npm test` runs them all, `--selectProjects <tier>` one. */
const config: Config = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
      setupFiles: ['<rootDir>/test/support/emulator-env.ts'],
    },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
      setupFiles: ['<rootDir>/test/support/emulator-env.ts'],
    },
  ],
  // Tests share one serialised emulator on a two-core machine: under load a correct test can
  // take far longer than Jest's 5 s default. Timing goals live in `npm run bench`, not here.
  testTimeout: 60_000,
  collectCoverageFrom: ['<rootDir>/shared/**/*.ts'],
  coverageReporters: ['text-summary'],
  coverageThreshold: { global: { lines: 90 } },
};

export default config;
