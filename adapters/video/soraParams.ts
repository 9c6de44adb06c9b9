import * as E from 'fp-ts/lib/Either.js';
import type { VideoAsk, VideoPlan, VideoProviderError } from '../../application/ports/videoProvider.js';

/**
 * What the Sora 2 videos API accepts (openai v6 `VideoCreateParams`): `seconds`
 * is one of '4' | '8' | '12'; `size` is `<width>x<height>`, 720x1280 or
 * 1280x720 for sora-2, plus 1024x1792 and 1792x1024 for sora-2-pro. A client
 * may name a size directly or use a short name; anything else is refused with
 * the list of allowed values, never rounded to something the client did not ask for.
 */
export const soraSeconds = [4, 8, 12] as const;

export const soraSizes: Readonly<Record<string, readonly string[]>> = {
  'sora-2': ['1280x720', '720x1280'],
  'sora-2-pro': ['1280x720', '720x1280', '1792x1024', '1024x1792'],
};

/** Short names: landscape unless it says portrait. */
const aliases: Readonly<Record<string, string>> = {
  '720p': '1280x720',
  '720p-landscape': '1280x720',
  '720p-portrait': '720x1280',
  '1024p': '1792x1024',
  '1024p-landscape': '1792x1024',
  '1024p-portrait': '1024x1792',
};

const unsupported = (field: 'model' | 'duration' | 'resolution', message: string, allowed: readonly string[]): VideoProviderError => ({
  _tag: 'VideoUnsupported',
  field,
  message,
  allowed,
});

export const allowedResolutions = (model: string): readonly string[] => {
  const sizes = soraSizes[model] ?? [];
  return [...sizes, ...Object.keys(aliases).filter((alias) => sizes.includes(aliases[alias] ?? ''))];
};

export const planSora = (ask: VideoAsk): E.Either<VideoProviderError, VideoPlan> => {
  const models = Object.keys(soraSizes);
  const sizes = Object.prototype.hasOwnProperty.call(soraSizes, ask.model) ? soraSizes[ask.model] : undefined;
  if (sizes === undefined) return E.left(unsupported('model', `model ${ask.model} is not offered`, models));
  if (!soraSeconds.some((s) => s === ask.duration)) {
    return E.left(unsupported('duration', `duration must be one of ${soraSeconds.join(', ')} seconds`, soraSeconds.map(String)));
  }
  const wanted = ask.resolution.trim().toLowerCase();
  const size = Object.prototype.hasOwnProperty.call(aliases, wanted) ? aliases[wanted] : wanted;
  if (size === undefined || !sizes.includes(size)) {
    const allowed = allowedResolutions(ask.model);
    return E.left(unsupported('resolution', `resolution ${ask.resolution} is not offered by ${ask.model}; use one of ${allowed.join(', ')}`, allowed));
  }
  return E.right({ model: ask.model, seconds: ask.duration, size });
};
