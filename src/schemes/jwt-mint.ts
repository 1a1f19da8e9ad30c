/**
 * What `mintToken` (`../tokens.ts`) shares with `schemes.jwt`, so that a minted token is exactly
 * what the scheme accepts: the algorithm check, the key material (validated against the
 * algorithm when the options are read, imported as a non-extractable `CryptoKey`), the claim
 * names, and signing with the minted `typ`. Internal: not exported from any entry point.
 * @module
 */
import { loadJose } from './_jose.js'
import { cryptoKeyFor, type KeyMaterial } from './_jwt-keys.js'
import type { JwtAlgorithm } from './jwt.js'

export { checkAlgorithm } from './_jwt-algs.js'
export { DEFAULT_CLAIMS } from './_jwt-claims.js'
export { keyMaterial, type KeyMaterial } from './_jwt-keys.js'

/** The `typ` header of minted tokens (RFC 8725 §3.11 explicit typing). */
const MINTED_TYP = 'keyward+jwt'

/** Signs `claims` as a compact JWS with header `{ alg, typ: MINTED_TYP, kid? }`. */
export async function signMinted(claims: Record<string, unknown>, material: KeyMaterial, alg: JwtAlgorithm, kid: string | undefined): Promise<string> {
  const signingKey = await cryptoKeyFor(material, alg, 'sign')
  const { SignJWT } = await loadJose()
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: MINTED_TYP, ...(kid === undefined ? {} : { kid }) })
    .sign(signingKey)
}
