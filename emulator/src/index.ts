// The emulator as a library, for test suites that embed it instead of running the CLI:
//   const emulator = await buildApp(resolveConfig({ inMemory: true }));
//   await emulator.app.listen({ port: 0 });
export { buildApp, EMULATOR_VERSION, type BuildOptions, type Emulator, type EmulatorFacts } from './app.js';
export { resolveConfig, readConfigFile, ConfigError, type EmulatorConfig, type VaultConfig, type SeedSecret } from './config.js';
