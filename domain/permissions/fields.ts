import * as t from 'io-ts';
import { isText } from '../shared/fields.js';

/** Field limits of the Permissions commands and events; the rules themselves are in domain/shared/fields.ts. */
export { InstantCodec, instantMax, isInstant, textProblem, type TextProblem } from '../shared/fields.js';

/** Longest accepted actor id; ids are opaque but never unbounded. */
export const actorMaxLength = 200;
/** Longest accepted suspension reason. */
export const reasonMaxLength = 500;

export const ActorCodec = t.refinement(t.string, isText(actorMaxLength), 'Actor');
export const ReasonCodec = t.refinement(t.string, isText(reasonMaxLength), 'Reason');
