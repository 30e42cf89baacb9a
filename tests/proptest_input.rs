//! Arbitrary bytes, and shipped scenarios with bytes flipped, inserted or deleted,
//! through everything before a run (`sim::prepare_bytes`): never a panic; either a
//! prepared scenario or diagnostics that name a file.

use poolsim::sim::prepare_bytes;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// Where the inputs claim to come from: the real scenarios folder, so that
/// `manifestFiles` entries of mutated scenarios still resolve to the lab05 manifests.
fn scenario_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mutated.yaml")
}

fn check(bytes: &[u8]) {
    let path = scenario_path();
    if let Err(diagnostics) = prepare_bytes(bytes, &path) {
        assert!(!diagnostics.is_empty(), "an error without diagnostics");
        for diagnostic in &diagnostics {
            assert!(
                diagnostic.file.starts_with(path.parent().unwrap()),
                "a diagnostic outside the scenario folder: {diagnostic}"
            );
        }
        // Warnings found on the way come back too; at least one must be an error.
        assert!(
            diagnostics.iter().any(|d| d.is_error()),
            "an Err with only warnings"
        );
    }
}

const SHIPPED: &[&str] = &[
    include_str!("../scenarios/lab05-webserver.yaml"),
    include_str!("../scenarios/lab05-node-partition.yaml"),
];

/// One change to a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Insert {
        at: usize,
        byte: u8,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// Copy a slice of the input somewhere else (duplicates keys, nests lists).
    Splice {
        from: usize,
        len: usize,
        to: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (
            any::<usize>(),
            prop_oneof![
                any::<u8>(),
                prop::sample::select(b":-[]{}&*!|>'\"#\n\t 0123456789".to_vec())
            ]
        )
            .prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 1usize..80, any::<usize>()).prop_map(|(from, len, to)| Mutation::Splice {
            from,
            len,
            to
        }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *mutation {
        Mutation::Flip { at, bit } => bytes[at % n] ^= 1 << bit,
        Mutation::Insert { at, byte } => bytes.insert(at % (n + 1), byte),
        Mutation::Delete { at, len } => {
            let start = at % n;
            bytes.drain(start..(start + len).min(n));
        }
        Mutation::Splice { from, len, to } => {
            let start = from % n;
            let piece: Vec<u8> = bytes[start..(start + len).min(n)].to_vec();
            let at = to % (n + 1);
            bytes.splice(at..at, piece);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn arbitrary_yaml_like_text_never_panics(
        text in "(apiVersion|kind|spec|metadata|name|events|at|scale|pool|replicas|manifests|duration|[a-z]{1,6}|: |\n|  |- |\\[|\\]|\\{|\\}|, |&a |\\*a|[0-9]{1,4}[smhd]?){0,80}"
    ) {
        check(text.as_bytes());
    }

    #[test]
    fn mutated_shipped_scenarios_never_panic(
        which in 0..SHIPPED.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut bytes = SHIPPED[which].as_bytes().to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check(&bytes);
    }
}

#[test]
fn the_shipped_scenarios_prepare_unmutated() {
    for text in SHIPPED {
        assert!(prepare_bytes(text.as_bytes(), &scenario_path()).is_ok());
    }
}
