import { startScenario, waitForIdle } from './support/scenario.js';

const s = await startScenario();
await s.bridge.start();
await waitForIdle(s.bridge);
await new Promise((r) => setTimeout(r, 2000));
console.log('idle peak RSS MiB', s.bridge.peakRssMiB().toFixed(0));
await s.dispose();
