//! The engine's maps held in memory: sorted vectors (`litemap`), not
//! B-trees. Each `BTreeMap<K, V>` type is its own copy of the B-tree's
//! insert, remove, rebalance and iterator code in the PWA's first download
//! (issue 18, docs/benchmarks.md); a sorted vector's copy is a binary search
//! and a `Vec` insert. The maps are small (contacts, rooms, devices, queued
//! sends), so an insert's shift of the entries after it costs little. They
//! are never deserialized: records are stored one per key.

/// A map sorted by key, iterated in key order like a `BTreeMap`.
pub type Map<K, V> = litemap::LiteMap<K, V>;

/// What the engine uses of `BTreeMap` that `LiteMap` lacks.
pub(crate) trait MapExt<K, V> {
    /// The values, mutably, in key order.
    fn values_mut<'a>(&'a mut self) -> impl Iterator<Item = &'a mut V>
    where
        K: 'a,
        V: 'a;
    /// The values of keys from `from` on, mutably, in key order.
    fn values_from_mut<'a>(&'a mut self, from: &K) -> impl Iterator<Item = &'a mut V>
    where
        K: 'a,
        V: 'a;
    /// The values, in key order.
    fn into_values(self) -> impl Iterator<Item = V>;
}

impl<K: Ord, V> MapExt<K, V> for Map<K, V> {
    fn values_mut<'a>(&'a mut self) -> impl Iterator<Item = &'a mut V>
    where
        K: 'a,
        V: 'a,
    {
        self.iter_mut().map(|(_, v)| v)
    }

    fn values_from_mut<'a>(&'a mut self, from: &K) -> impl Iterator<Item = &'a mut V>
    where
        K: 'a,
        V: 'a,
    {
        let start = self.find_index(from).unwrap_or_else(|at| at);
        self.iter_mut().skip(start).map(|(_, v)| v)
    }

    fn into_values(self) -> impl Iterator<Item = V> {
        self.into_iter().map(|(_, v)| v)
    }
}
