//! The same input gives the same bytes, whatever the thread count.

use std::fs;

use crate::util::*;

#[test]
fn output_is_byte_identical_with_one_thread_and_with_several() {
    let t = TestDir::new();
    let mut sources = good_sources();
    sources.push(broken_folder());
    for (out, threads) in [("one", "1"), ("many", "4")] {
        let run = t.convert(
            &sources,
            out,
            &["--threads", threads, "--shard-size", "60kB"],
        );
        run.expect_code(1);
    }
    let one = tree(&t.join("one"));
    assert_eq!(one, tree(&t.join("many")));
    assert!(one.len() > 4, "several shards: {one:?}");
    for file in &one {
        assert!(
            fs::read(t.join("one").join(file)).unwrap()
                == fs::read(t.join("many").join(file)).unwrap(),
            "{file} differs between --threads 1 and --threads 4"
        );
    }
}
