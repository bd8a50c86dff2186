//! Stable sorting through a single copy of the standard library's sort.
//!
//! Every `sort_by_key` call with its own element type and closure is its own
//! copy of the standard library's sort (driftsort: several KB of wasm each),
//! and the app's main wasm carried about 80 KB of them (docs/benchmarks.md).
//! These helpers sort a permutation of indices with a `dyn` comparator, so
//! all callers share one copy, then move the elements into that order.
//! Ties keep their order, as with `sort_by_key`. For lists that are small
//! or sorted once (contacts, rooms, a conversation's history on load); a
//! sort on a hot path keeps the standard one.

use std::cmp::Ordering;

/// Sorts `v` stably by `cmp`.
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    if v.len() < 2 {
        return;
    }
    let order = {
        let items: &[T] = v;
        sorted_indices(v.len(), &|a, b| match (items.get(a), items.get(b)) {
            (Some(x), Some(y)) => cmp(x, y),
            _ => Ordering::Equal,
        })
    };
    permute(v, order);
}

/// Sorts `v` stably by the key `key` gives.
pub fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `v` (stably; equal elements cannot be told apart anyway).
pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// `0..len` in the order `cmp` gives its elements. Not generic: the one
/// instantiation of the standard library's sort.
fn sorted_indices(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|a, b| cmp(*a, *b));
    order
}

/// Puts `v[order[k]]` at position `k`, in place and in linear time: each
/// cycle of the permutation is followed once, and positions done are marked.
fn permute<T>(v: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..order.len() {
        let mut k = start;
        loop {
            let Some(slot) = order.get_mut(k) else { return };
            let j = std::mem::replace(slot, DONE);
            if j == DONE || j == start {
                break;
            }
            // `v[k]` takes its element; what it held moves on along the cycle.
            v.swap(k, j);
            k = j;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the test needs no dependency.
    fn numbers(seed: u64, n: usize, modulo: u64) -> Vec<u64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % modulo
            })
            .collect()
    }

    #[test]
    fn orders_like_the_standard_stable_sort() {
        for (seed, n, modulo) in [
            (1, 0, 5),
            (2, 1, 5),
            (3, 2, 2),
            (4, 17, 3),
            (5, 1000, 10),
            (6, 513, 1_000_000),
        ] {
            // Pairs of (key, original position): ties must keep their order.
            let mut mine: Vec<(u64, usize)> = numbers(seed, n, modulo)
                .into_iter()
                .enumerate()
                .map(|(i, k)| (k, i))
                .collect();
            let mut std_sorted = mine.clone();
            std_sorted.sort_by_key(|p| p.0);
            sort_by_key(&mut mine, |p| p.0);
            assert_eq!(mine, std_sorted, "seed {seed}, {n} elements");
        }
    }

    #[test]
    fn one_late_element_moves_to_the_front() {
        // A rotation: the worst case of following cycles without marking them.
        let mut v: Vec<u32> = (1..=20_000).chain([0]).collect();
        sort(&mut v);
        assert!(v.iter().copied().eq(0..=20_000));
    }

    #[test]
    fn sorts_descending_and_by_comparator() {
        let mut v = vec!["b", "a", "c", "a"];
        sort_by(&mut v, |x, y| y.cmp(x));
        assert_eq!(v, ["c", "b", "a", "a"]);
        let mut w = vec![3, 1, 2];
        sort(&mut w);
        assert_eq!(w, [1, 2, 3]);
    }
}
