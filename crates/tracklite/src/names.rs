//! Readable generated run names, such as `brave-otter-417`.

const ADJECTIVES: &[&str] = &[
    "able", "agile", "amber", "ample", "azure", "bold", "brave", "bright", "brisk", "calm",
    "clever", "cosmic", "crisp", "curious", "daring", "deft", "eager", "early", "fair", "fearless",
    "fleet", "fond", "gentle", "glad", "golden", "grand", "hardy", "hasty", "honest", "humble",
    "jolly", "keen", "kind", "lively", "lucid", "lucky", "merry", "mellow", "modest", "nimble",
    "noble", "patient", "placid", "plucky", "polite", "proud", "quick", "quiet", "rapid", "ready",
    "rustic", "serene", "sharp", "shy", "silent", "sleek", "smooth", "snug", "solid", "steady",
    "stoic", "sunny", "swift", "tender", "tidy", "upbeat", "vivid", "warm", "wise", "witty",
    "zesty",
];

const NOUNS: &[&str] = &[
    "badger", "bat", "bear", "beetle", "bison", "crane", "cricket", "deer", "dolphin", "dove",
    "eagle", "eel", "elk", "falcon", "ferret", "finch", "fox", "frog", "gecko", "goose", "hare",
    "hawk", "heron", "ibis", "jackal", "jay", "koala", "lark", "lemur", "lion", "lynx", "mole",
    "moose", "moth", "newt", "otter", "owl", "panda", "parrot", "pelican", "pike", "puffin",
    "quail", "raven", "robin", "salmon", "seal", "shrew", "sparrow", "squid", "stork", "swan",
    "tapir", "tern", "tiger", "toad", "trout", "turtle", "viper", "vole", "walrus", "whale",
    "wolf", "wombat", "wren", "yak", "zebra",
];

/// A name made of an adjective, an animal and a number, from random bits.
pub fn run_name(random: u128) -> String {
    let adjective = ADJECTIVES[(random % ADJECTIVES.len() as u128) as usize];
    let rest = random / ADJECTIVES.len() as u128;
    let noun = NOUNS[(rest % NOUNS.len() as u128) as usize];
    let number = (rest / NOUNS.len() as u128) % 1000;
    format!("{adjective}-{noun}-{number}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_readable_and_vary() {
        let a = super::run_name(12345);
        let b = super::run_name(987654321);
        assert_ne!(a, b);
        assert_eq!(a.split('-').count(), 3, "{a}");
        assert!(a.rsplit('-').next().unwrap().parse::<u32>().unwrap() < 1000);
    }
}
