// Jest loads global setup outside its module system; Node 24 strips the types of the .ts
// module natively, so the setup itself stays in TypeScript.
export { default } from './emulator-global-setup.ts';
