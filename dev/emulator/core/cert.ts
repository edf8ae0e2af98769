import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import selfsigned from "selfsigned";

export interface EmulatorCertificate {
  key: string;
  cert: string;
}

let cached: Promise<EmulatorCertificate> | undefined;

/**
 * A self-signed certificate for 127.0.0.1 and localhost, generated once per process (key generation is the
 * slow part of starting an emulator, and every emulator of a test run can share it).
 */
export function generateCertificate(): Promise<EmulatorCertificate> {
  cached ??= selfsigned
    .generate([{ name: "commonName", value: "pgflex-autoprotect ARM emulator" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notAfterDate: new Date(Date.now() + 30 * 24 * 60 * 60 * 1000),
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: [
            { type: 7, ip: "127.0.0.1" },
            { type: 7, ip: "::1" },
            { type: 2, value: "localhost" },
          ],
        },
      ],
    })
    .then((pems) => ({ key: pems.private, cert: pems.cert }));
  return cached;
}

export async function writeCertificate(path: string, cert: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, cert, { mode: 0o644 });
}
