/**
 * Why a metered completion did not (fully) happen. Adapters map these once:
 * the WebSocket error frame codes, and problem+json on REST.
 */
export type Settled = {
  readonly charged: number;
  readonly balance: number;
  readonly available: number;
  /**
   * True when the settlement could not be written yet (the store is down): it
   * is being retried in the background and `charged` is what it will charge;
   * `balance` and `available` are then what they will be once it is written.
   */
  readonly pending?: true;
};

export type GatewayError =
  | { readonly _tag: 'InvalidRequest'; readonly message: string }
  | { readonly _tag: 'Forbidden'; readonly action: string }
  | { readonly _tag: 'RateLimited'; readonly retryAfterMs: number; readonly limit: 'requests' | 'tokens'; readonly retryable: boolean }
  | { readonly _tag: 'LimiterUnavailable'; readonly message: string }
  | { readonly _tag: 'InsufficientCredits'; readonly needed: number; readonly available: number }
  | {
      readonly _tag: 'ProviderError' | 'ProviderUnavailable';
      readonly message: string;
      readonly retryable: boolean;
      /** Present when output had been delivered before the failure and was charged. */
      readonly settled?: Settled;
    };

export type GatewayErrorTag = GatewayError['_tag'];
