export { type BackendReport, backendReports } from './commands/backends.js';
export { verify } from './commands/verify.js';
export { discoverBackends, type PackageLoad } from './discover.js';
export { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
export { buildProgram } from './program.js';
export { runCli } from './run.js';
export { formatDuration, type Invocation, studyWallSeconds } from './studies/provenance.js';
