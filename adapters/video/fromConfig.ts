import type { VideoProvider } from '../../application/ports/videoProvider.js';
import { makeOpenAiVideoProvider } from './openaiVideoProvider.js';
import { makeScriptedVideoProvider } from './scriptedVideoProvider.js';

/** Sora 2 when OPENAI_API_KEY is set (at OPENAI_BASE_URL when given), the scripted provider otherwise. */
export const videoProviderFromConfig = (config: { readonly OPENAI_API_KEY?: string; readonly OPENAI_BASE_URL?: string }): VideoProvider =>
  config.OPENAI_API_KEY === undefined
    ? makeScriptedVideoProvider()
    : makeOpenAiVideoProvider({
        apiKey: config.OPENAI_API_KEY,
        ...(config.OPENAI_BASE_URL === undefined ? {} : { baseURL: config.OPENAI_BASE_URL }),
      });
