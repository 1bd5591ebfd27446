//! Identifiers we mint (tags, Via branches, SDP session ids) from the driver's seed.
//!
//! RFC 3261 §19.3 wants tags and branches globally unique and hard to guess (a guessable
//! branch or tag lets a third party CANCEL or BYE our calls). The core reads no random source,
//! so the driver passes a seed; values are SplitMix64's output mix applied to seed ^ counter.
//! That mix is a bijection on u64, so distinct counters never collide within one `Ids`.

pub(crate) struct Ids {
    seed: u64,
    counter: u64,
}

impl Ids {
    pub(crate) fn new(seed: u64) -> Self {
        Ids { seed, counter: 0 }
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        splitmix64(self.seed ^ self.counter)
    }

    pub(crate) fn tag(&mut self) -> String {
        format!("{:016x}", self.next())
    }

    /// A branch with the RFC 3261 magic cookie, so peers can match transactions by it (§8.1.1.7).
    pub(crate) fn branch(&mut self) -> String {
        format!("z9hG4bK{:016x}", self.next())
    }

    /// A number in 0..n, for jitter such as §14.2's Retry-After of 0 to 10 s.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An o= session id. Kept below 2^62 because some SDP stacks store it in a signed 64-bit
    /// integer; dropping two bits of a bijective mix still leaves collisions vanishingly rare.
    pub(crate) fn session_id(&mut self) -> u64 {
        self.next() >> 2
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn unique_and_seed_dependent() {
        let mut ids = Ids::new(42);
        let tags: HashSet<String> = (0..20_000).map(|_| ids.tag()).collect();
        assert_eq!(tags.len(), 20_000);
        let branch = ids.branch();
        assert!(branch.starts_with("z9hG4bK") && branch.len() == 23, "{branch}");
        assert!(ids.session_id() < 1 << 62);
        let (mut a, mut b) = (Ids::new(1), Ids::new(2));
        assert_ne!(a.tag(), b.tag());
        // Consecutive values share no obvious structure (no counter showing through).
        let (x, y) = (a.next(), a.next());
        assert!((x ^ y).count_ones() > 10, "{x:x} {y:x}");
    }
}
