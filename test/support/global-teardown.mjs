export { default } from './emulator-global-teardown.ts';
