//! Each job on generated files, against a truth computed here with plain
//! loops and maps (no Flux), and with the ledger's account of bad lines.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use flux::prelude::Bytes;

/// A deterministic stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A file of `text` under a fresh temporary name.
fn file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("flux-jobs-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn text(bytes: &Bytes) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn sum_per_key_matches_a_hash_map_and_dead_letters_the_malformed_lines() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut input, mut truth, mut order, mut bad) = (String::new(), HashMap::new(), Vec::new(), Vec::new());
    for line in 0..20_000u64 {
        if rng.below(500) == 0 {
            input.push_str("no amount here\n");
            bad.push(line);
            continue;
        }
        let (key, amount) = (format!("user-{}", rng.below(300)), rng.below(1_000));
        input.push_str(&format!("{key},{amount}\n"));
        if !truth.contains_key(&key) {
            order.push(key.clone());
        }
        *truth.entry(key).or_insert(0) += amount;
    }
    let path = file("sum.csv", &input);
    let (sums, report) = flux_jobs::sum_per_key(&path).unwrap();
    let got: Vec<(String, u64)> = sums.into_iter().map(|s| (text(&s.key), s.value)).collect();
    let expected: Vec<(String, u64)> = order.into_iter().map(|key| (key.clone(), truth[&key])).collect();
    assert_eq!(got, expected);
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    assert_eq!(dead, bad, "each malformed line is a dead letter, by its line number");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn count_by_kind_matches_a_count_of_the_generated_records() {
    let mut rng = Rng(7);
    let kinds = ["alert", "notice", "long kind name", "wrapped"];
    let (mut input, mut truth) = (String::from("\n"), BTreeMap::new());
    for id in 0..3_000 {
        let kind = kinds[rng.below(4) as usize];
        input.push_str(&format!("id: {id}\n"));
        match kind {
            "long kind name" => input.push_str("kind: long kind\n  name\n"), // continued on the next line
            "wrapped" => input.push_str("kind:\n  wrapped\n"),               // all of it on the next line
            _ => input.push_str(&format!("kind: {kind}\n")),
        }
        for _ in 0..rng.below(3) {
            input.push_str("note: some words\n  and more words\n");
        }
        input.push('\n');
        if rng.below(10) == 0 {
            input.push_str("\n\n"); // a run of blank lines between records
        }
        *truth.entry(kind.to_owned()).or_insert(0u64) += 1;
    }
    let path = file("records.txt", &input);
    let (counts, report) = flux_jobs::count_by_kind(&path).unwrap();
    let got: BTreeMap<String, u64> = counts.into_iter().map(|c| (text(&c.key), c.value)).collect();
    assert_eq!(got, truth);
    assert!(report.dead_letters.is_empty());
    std::fs::remove_file(path).unwrap();
}

#[test]
fn join_matches_a_nested_loop_join_whatever_the_order_of_the_rows() {
    let mut rng = Rng(99);
    let (mut orders, mut lines) = (Vec::new(), Vec::new());
    for id in 0..400 {
        let region = ["eu", "us"][rng.below(2) as usize];
        if rng.below(10) != 0 {
            orders.push(format!("{id},{region},{}", rng.below(10_000)));
        }
        for sku in 0..rng.below(4) {
            lines.push(format!("{id},{region},sku-{sku}"));
        }
    }
    // The truth, by a nested loop over the rows.
    let key = |row: &str| row.split(',').take(2).collect::<Vec<_>>().join(",");
    let mut truth: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    orders.iter().for_each(|row| truth.entry(key(row)).or_default().0 += 1);
    lines.iter().for_each(|row| truth.entry(key(row)).or_default().1 += 1);
    for round in 0..3 {
        // Shuffle each file's rows differently each round.
        for rows in [&mut orders, &mut lines] {
            for i in (1..rows.len()).rev() {
                rows.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        let orders_path = file(&format!("orders-{round}.csv"), &(orders.join("\n") + "\n"));
        let lines_path = file(&format!("lines-{round}.csv"), &(lines.join("\n") + "\n"));
        let (records, report) = flux_jobs::join(&orders_path, &lines_path).unwrap();
        assert_eq!(records.len(), truth.len(), "round {round}: one record per key");
        let got: BTreeMap<String, (usize, usize)> =
            records.iter().map(|r| (text(&r.key), (r.part("order").count(), r.part("line").count()))).collect();
        assert_eq!(got, truth, "round {round}");
        for record in &records {
            let (orders, lines) = got[&text(&record.key)];
            assert_eq!(record.complete, orders == 1 && lines >= 1, "{:?}", record.key);
        }
        assert!(report.dead_letters.is_empty());
        std::fs::remove_file(orders_path).unwrap();
        std::fs::remove_file(lines_path).unwrap();
    }
}

#[test]
fn per_minute_matches_a_replay_of_the_watermark_and_sends_late_events_aside() {
    let mut rng = Rng(4242);
    let (mut input, mut newest, mut truth, mut late) = (String::new(), None::<u64>, BTreeMap::new(), Vec::new());
    let mut clock = 1_000_000u64;
    for sequence in 0..10_000u64 {
        clock += rng.below(3);
        // Mostly in order; now and then an event from up to two minutes ago.
        let at = if rng.below(50) == 0 { clock - rng.below(120) } else { clock };
        let key = format!("k{}", rng.below(5));
        input.push_str(&format!("{at},{key}\n"));
        // The rule the job states: late once the watermark (10 s behind
        // the newest event time) has reached the end of the event's minute.
        let minute_end = (at / 60 + 1) * 60;
        if newest.is_some_and(|newest| newest.saturating_sub(10) >= minute_end) {
            late.push(sequence);
        } else {
            *truth.entry((at / 60, key)).or_insert(0u64) += 1;
        }
        newest = Some(newest.map_or(at, |n| n.max(at)));
    }
    let path = file("events.csv", &input);
    let (counts, report) = flux_jobs::per_minute(&path).unwrap();
    assert_eq!(counts.len(), truth.len(), "one record per (minute, key)");
    let got: BTreeMap<(u64, String), u64> =
        counts.into_iter().map(|(minute, key, count)| ((minute, text(&key)), count)).collect();
    assert_eq!(got, truth);
    let aside: Vec<u64> = report.side_outputs.iter().map(|s| s.meta.sequence).collect();
    assert_eq!(aside, late);
    assert!(!late.is_empty(), "the data has late events");
    std::fs::remove_file(path).unwrap();
}
