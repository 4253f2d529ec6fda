import { createHash } from "node:crypto";
import type { PasswordHasher } from "../../src/auth/password";
import type { Clock } from "../../src/deps";
import type { Mailer, MailMessage } from "../../src/mail/mailer";

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  constructor(private current = new Date("2026-01-01T00:00:00Z")) {}
  now() {
    return new Date(this.current);
  }
  advance(seconds: number) {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

/** A fast stand-in for argon2 in tests that are not about hashing (counts its calls). */
export class FastHasher implements PasswordHasher {
  hashes = 0;
  verifies = 0;
  async hash(password: string) {
    this.hashes++;
    return `$fake$${createHash("sha256").update(password).digest("hex")}`;
  }
  async verify(hash: string, password: string) {
    this.verifies++;
    return hash === `$fake$${createHash("sha256").update(password).digest("hex")}`;
  }
}

/** Keeps messages in memory instead of sending them. */
export class RecordingMailer implements Mailer {
  sent: MailMessage[] = [];
  async send(message: MailMessage) {
    this.sent.push(message);
  }
  to(address: string) {
    return this.sent.filter((m) => m.to === address);
  }
}
