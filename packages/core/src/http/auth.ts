/**
 * Bearer-token check of the operations endpoint (RFC 6750 §2.1: `Authorization: Bearer
 * <token>`). The comparison takes the same time whatever the token sent (both sides are
 * hashed first, then compared with timingSafeEqual), so response times reveal nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** A checker for `token`: `check(header)` is true when the header carries it. */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  const want = digest(token);
  return (header) => {
    const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    return m !== null && timingSafeEqual(digest(m[1] as string), want);
  };
}
