//! The signature algorithms `jsonwebtoken` may use here: HS256 and EdDSA (Ed25519), computed by
//! `ring`, which Pingora's TLS already links. Nothing else is compiled in.
//!
//! Why not one of `jsonwebtoken`'s own back-ends: `rust_crypto` always compiles the `rsa` crate
//! (RUSTSEC-2023-0071, a timing side channel with no fix) and two elliptic curves Sandgate never
//! uses; `aws_lc_rs` needs a second C crypto library beside `ring`. Only the glue is ours: the
//! HMAC and Ed25519 code is `ring`'s, and the token format, claims and checks stay
//! `jsonwebtoken`'s. Any other algorithm is refused as an invalid one.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

/// Installs the provider for this process (the first call does; later ones change nothing).
/// Every path that signs or verifies a token calls it first.
pub fn install() {
    // `Err` only says a provider is installed already: ours, since nothing else installs one.
    let _ = PROVIDER.install_default();
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::InvalidAlgorithm.into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::InvalidAlgorithm.into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidAlgorithm.into()),
        ed_pub_components_from_private_key: ed25519_public_key,
        compute_digest: digest,
    },
};

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => {
            Ok(Box::new(Hs256(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes()))))
        }
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => {
            let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.as_bytes())
                .map_err(|_| ErrorKind::InvalidEddsaKey)?;
            Ok(Box::new(EdDsaSigner(pair)))
        }
        (Algorithm::HS256 | Algorithm::EdDSA, _) => Err(ErrorKind::InvalidKeyFormat.into()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => {
            Ok(Box::new(Hs256(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.try_get_as_bytes()?))))
        }
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => {
            let public: [u8; 32] =
                key.try_get_as_bytes()?.try_into().map_err(|_| Error::from(ErrorKind::InvalidEddsaKey))?;
            Ok(Box::new(EdDsaVerifier(public)))
        }
        (Algorithm::HS256 | Algorithm::EdDSA, _) => Err(ErrorKind::InvalidKeyFormat.into()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn ed25519_public_key(pkcs8: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>, Error> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
        .map_err(|_| Error::from(ErrorKind::InvalidEddsaKey))?;
    Ok(ring::signature::KeyPair::public_key(&pair).as_ref().to_vec())
}

fn digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, Error> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(ring::digest::digest(algorithm, data).as_ref().to_vec())
}

/// HMAC-SHA256 with one key: signs, and verifies in constant time (`ring::hmac::verify`).
struct Hs256(ring::hmac::Key);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(ring::hmac::sign(&self.0, message).as_ref().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        ring::hmac::verify(&self.0, message, tag).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

struct EdDsaSigner(ring::signature::Ed25519KeyPair);

impl Signer<Vec<u8>> for EdDsaSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(message).as_ref().to_vec())
    }
}

impl JwtSigner for EdDsaSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdDsaVerifier([u8; 32]);

impl Verifier<Vec<u8>> for EdDsaVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &self.0)
            .verify(message, signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for EdDsaVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs256_and_eddsa_round_trip_and_other_algorithms_are_refused() {
        install();
        let claims = serde_json::json!({"sub": "trn_1", "exp": 4_102_444_800u64});
        let secret = EncodingKey::from_secret(b"a key of thirty-two bytes, or so");
        let token =
            jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::HS256), &claims, &secret).expect("HS256");
        let validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        let good = DecodingKey::from_secret(b"a key of thirty-two bytes, or so");
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &good, &validation).is_ok());
        let wrong = DecodingKey::from_secret(b"another key of thirty-two bytes!");
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &wrong, &validation).is_err());

        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).expect("key");
        let public = ed25519_public_key(pkcs8.as_ref(), &EllipticCurve::Ed25519).expect("public key");
        let header = jsonwebtoken::Header::new(Algorithm::EdDSA);
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(pkcs8.as_ref())).expect("EdDSA");
        let validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
        let key = DecodingKey::from_ed_der(&public);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok());
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 2, 'A');
        assert!(jsonwebtoken::decode::<serde_json::Value>(&tampered, &key, &validation).is_err());

        let rsa = jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::RS256), &claims, &secret);
        assert!(matches!(rsa.map_err(|e| e.into_kind()), Err(ErrorKind::InvalidAlgorithm)), "no RSA here");
        let hs512 = jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::HS512), &claims, &secret);
        assert!(hs512.is_err(), "only the pinned algorithms are compiled in");
    }
}
