/** Runs before each integration test file: the functions' environment, aimed at the emulator. */
import { localFunctionEnvironment } from '#local/environment';

const endpoint = process.env.TM_TEST_EMULATOR_ENDPOINT;
if (endpoint === undefined) throw new Error('The emulator global setup did not run');
Object.assign(process.env, localFunctionEnvironment(endpoint), { POWERTOOLS_LOG_LEVEL: 'WARN' });
