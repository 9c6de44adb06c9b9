/** Why an ApiKey command was refused. No HTTP here: adapters map these once. */
export type ApiKeyError =
  | { readonly _tag: 'InvalidCommand'; readonly field: string; readonly problem: string }
  | { readonly _tag: 'KeyNotFound' }
  | { readonly _tag: 'KeyAlreadyExists' }
  | { readonly _tag: 'KeyRevoked'; readonly revokedAt: number }
  | {
      readonly _tag: 'KeyLimitReached';
      readonly limit: number;
      readonly spent: number;
      readonly held: number;
      readonly requested: number;
      readonly periodStart: number;
    }
  | { readonly _tag: 'HoldNotFound'; readonly reservationId: string }
  | { readonly _tag: 'HoldClosed'; readonly reservationId: string; readonly status: 'settled' | 'released' | 'expired' }
  | { readonly _tag: 'IdConflict'; readonly reservationId: string }
  | { readonly _tag: 'ChargeAboveHold'; readonly reservationId: string; readonly charge: number; readonly amount: number };
