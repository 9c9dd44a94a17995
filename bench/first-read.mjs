// A Node app's first read, as `kv-emulator env` (or `env --proxy`) configures it: DefaultAzureCredential
// and SecretClient(AZURE_KEYVAULT_URL) with default options, one getSecret. Started by bench/proxy.mjs
// with exactly the variables the command printed.
// Usage: node bench/first-read.mjs <secretName>; prints {"ms": <process start to the value read>, "cpuMs":
// <the process's CPU time by then>} (CPU time depends less on what else the machine is doing).
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

const [name] = process.argv.slice(2);
const secret = await new SecretClient(process.env.AZURE_KEYVAULT_URL, new DefaultAzureCredential()).getSecret(name);
if (typeof secret.value !== 'string') throw new Error('no value read');
const ms = performance.now();
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000 }));
