import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, wherever the process was started from. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const venvPython = path.join(repoRoot, '.venv', 'bin', 'python');
export const localDir = path.join(repoRoot, '.local');
