import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived signed download links for finished videos. A ChatGPT Action can
 * only hand text back to the user, so a job's status carries a link the
 * user's browser can open without any token: it names the job and its owner
 * and expires after `ttlMs`, and its HMAC (keyed by a secret every instance
 * shares) proves this server issued it. A link that was altered, belongs to
 * another job or user, or has expired is refused.
 */
export type ContentLinks = {
  readonly url: (jobId: string, userId: string) => string;
  /** The owner the link was issued for, or undefined when it is not valid now. */
  readonly verify: (jobId: string, link: { readonly user?: string; readonly expires?: string; readonly signature?: string }) => string | undefined;
};

export const DOWNLOAD_TTL_MS = 15 * 60 * 1000;

export const makeContentLinks = (options: { secret: string; publicUrl: string; now: () => number; ttlMs?: number }): ContentLinks => {
  const ttlMs = options.ttlMs ?? DOWNLOAD_TTL_MS;
  const sign = (jobId: string, userId: string, expires: number) =>
    createHmac('sha256', options.secret).update(`sora2-download\n${jobId}\n${userId}\n${expires}`).digest('base64url');
  return {
    url: (jobId, userId) => {
      const expires = Math.floor((options.now() + ttlMs) / 1000);
      const query = new URLSearchParams({ user: userId, expires: String(expires), signature: sign(jobId, userId, expires) });
      return `${options.publicUrl}/api/sora2/downloads/${encodeURIComponent(jobId)}?${query.toString()}`;
    },
    verify: (jobId, link) => {
      const { user, expires, signature } = link;
      if (user === undefined || expires === undefined || signature === undefined || !/^\d{1,12}$/.test(expires)) return undefined;
      if (Number(expires) * 1000 <= options.now()) return undefined;
      const expected = sign(jobId, user, Number(expires));
      if (signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) return undefined;
      return user;
    },
  };
};
