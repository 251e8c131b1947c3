// Three jest projects: fast socket-free unit tests, integration tests with real bookies / etcd / RocksDB,
// and contract suites that every implementation of an interface must pass.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // A handle a failed test leaves behind (a socket, a timer) must not keep CI waiting until its time limit, as
  // one did: jest exits when the run is over. It prints "Force exiting Jest" on every run, leak or not;
  // `npx jest --forceExit=false --detectOpenHandles <file>` shows whether a file leaves something open.
  forceExit: true,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/setup/slow-test-timeout.ts'],
    },
    {
      ...common,
      displayName: 'contract',
      testMatch: ['<rootDir>/test/contract/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/setup/slow-test-timeout.ts'],
    },
  ],
};
