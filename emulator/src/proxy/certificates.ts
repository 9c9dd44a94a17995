// Certificates per TLS server name, for the connections the HTTPS proxy hands to the app's one HTTPS
// server: its SNICallback. A name the server certificate already covers (localhost, *.vault.azure.net,
// *.vault.localhost...) keeps it; a name the proxy answers for and the server certificate does not
// cover (login.microsoftonline.com, *.vault.azure.cn...) gets a leaf certificate issued by the
// emulator's CA, made on the first handshake that names it and kept for the life of the process, so
// later handshakes cost what a direct one does (a map lookup more). Nothing is made at start-up. Any
// other name gets the server certificate, which the client then refuses, as it would refuse any host
// presenting a certificate for another name.
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { createServerCertificate } from '../tls/certificates.js';
import { certificateNameFor } from './names.js';

export interface SniCertificatesOptions {
  /** The emulator's CA, which issues the certificates. */
  ca: { cert: string; key: string };
  /** The HTTPS server's own certificate (PEM; the first certificate is the server's). */
  serverCert: string;
  /** Reports each certificate made (name, milliseconds) or a failure to make one. */
  onMinted?: (name: string, ms: number) => void;
  onError?: (name: string, error: Error) => void;
}

type Done = (error: Error | null, context?: SecureContext) => void;

/** Server names remembered; past this the memory is cleared (names are few; this bounds odd clients). */
const REMEMBERED_NAMES = 4096;

export class SniCertificates {
  private readonly server: X509Certificate;
  /** Context per server name seen (null: the server's own certificate). */
  private readonly byServername = new Map<string, SecureContext | null>();
  /** Certificates made or being made, per certificate name. */
  private readonly minted = new Map<string, Promise<SecureContext>>();

  constructor(private readonly options: SniCertificatesOptions) {
    this.server = new X509Certificate(options.serverCert);
  }

  /** The SNICallback of the HTTPS server. */
  readonly callback = (servername: string, done: Done): void => {
    const key = servername.toLowerCase();
    const known = this.byServername.get(key);
    if (known !== undefined) return done(null, known ?? undefined);
    const name = this.server.checkHost(key) === undefined ? certificateNameFor(key) : undefined;
    if (name === undefined) {
      this.remember(key, null);
      return done(null);
    }
    this.contextFor(name).then(
      (context) => {
        this.remember(key, context);
        done(null, context);
      },
      // The handshake goes on with the server certificate (the client refuses it); a later one tries again.
      () => done(null),
    );
  };

  /** Names a certificate has been made for (tests, diagnostics). */
  mintedNames(): string[] {
    return [...this.minted.keys()];
  }

  private contextFor(name: string): Promise<SecureContext> {
    let pending = this.minted.get(name);
    if (!pending) {
      const started = performance.now();
      pending = createServerCertificate(this.options.ca, [name]).then(({ cert, key }) => {
        this.options.onMinted?.(name, performance.now() - started);
        return createSecureContext({ cert, key });
      });
      pending.catch((error: Error) => {
        this.minted.delete(name);
        this.options.onError?.(name, error);
      });
      this.minted.set(name, pending);
    }
    return pending;
  }

  private remember(servername: string, context: SecureContext | null): void {
    if (this.byServername.size >= REMEMBERED_NAMES) this.byServername.clear();
    this.byServername.set(servername, context);
  }
}
