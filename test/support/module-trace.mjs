// Preloaded by tests with `node --import`: appends the URL of every module the process resolves to the file
// named by IDLEHOOK_MODULE_TRACE, to check which dependencies a command loads.
import { register } from 'node:module';

register('./module-trace-hooks.mjs', import.meta.url, { data: process.env.IDLEHOOK_MODULE_TRACE });
