// Integration and contract tests start real processes (etcd, bookies) and wait on real disks: 60 s per test.
// Set here, for their jest projects, because `testTimeout` is a global jest option that projects ignore.
jest.setTimeout(60000);
