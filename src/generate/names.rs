//! Word lists for the demo shop: categories with price ranges, product and person names (with
//! commas, quotes, apostrophes and non-ASCII letters on purpose) and places.

use rand::Rng;
use std::sync::LazyLock;

/// `(category, lowest price, highest price)`.
pub(super) const CATEGORIES: [(&str, f64, f64); 10] = [
    ("Electronics", 25.0, 600.0),
    ("Home & Kitchen", 8.0, 180.0),
    ("Fashion", 12.0, 160.0),
    ("Health", 5.0, 90.0),
    ("Toys", 6.0, 120.0),
    ("Books", 6.0, 45.0),
    ("Sports", 10.0, 250.0),
    ("Beauty", 5.0, 80.0),
    ("Garden", 8.0, 220.0),
    ("Grocery", 2.0, 40.0),
];

const ADJECTIVES: [&str; 16] = [
    "Classic", "Deluxe", "Compact", "Organic", "Smart", "Vintage", "Crème", "Nordic", "Ultra", "Eco", "Señor's",
    "Große", "Mini", "Pro", "Soft", "Café",
];
const NOUNS: [&str; 16] = [
    "Mug",
    "Lamp",
    "Backpack",
    "Blender",
    "Sneakers",
    "Puzzle",
    "Novel",
    "Yoga Mat",
    "Serum",
    "Kettle",
    "Headphones",
    "Planter",
    "Tea",
    "Jacket",
    "Drone",
    "Notebook",
];

/// A product name; some carry a comma, quotes or an inch mark, as real catalogues do.
pub(super) fn product_name(rng: &mut impl Rng, category: &str) -> String {
    let adj = ADJECTIVES[rng.random_range(0..ADJECTIVES.len())];
    let noun = NOUNS[rng.random_range(0..NOUNS.len())];
    match rng.random_range(0..10) {
        0 => format!("{adj} {noun}, {} pack", rng.random_range(2..12)),
        1 => format!("{adj} \"{noun}\" Edition"),
        2 => format!("{adj} {noun} {}\"", rng.random_range(10..30)),
        3 => format!("{noun} ({category})"),
        _ => format!("{adj} {noun}"),
    }
}

const FIRST: [&str; 20] = [
    "Anna", "José", "Zoë", "Łukasz", "Mia", "Noah", "Chloé", "Søren", "Emma", "Liam", "Aoife", "Jürgen", "Olivia",
    "Mateo", "Ines", "Björn", "Sofia", "Ethan", "Nuño", "Élodie",
];
const LAST: [&str; 20] = [
    "Müller",
    "García",
    "O'Brien",
    "Smith",
    "Dubois",
    "Rossi",
    "Kowalski",
    "Jensen",
    "Novák",
    "Silva",
    "Brown",
    "Fernández",
    "Nguyen",
    "Schäfer",
    "Lefèvre",
    "Johansson",
    "Taylor",
    "Ødegaard",
    "Costa",
    "Weiß",
];

/// A person's name; a few have a suffix after a comma or a nickname in quotes.
pub(super) fn person_name(rng: &mut impl Rng) -> String {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    match rng.random_range(0..40) {
        0 => format!("{last}, {first}"),
        1 => format!("{first} \"{}\" {last}", &first[..first.char_indices().nth(2).map_or(first.len(), |(i, _)| i)]),
        2 => format!("{first} {last}, Jr."),
        _ => format!("{first} {last}"),
    }
}

/// `(city, region, country)`.
pub(super) const PLACES: [(&str, &str, &str); 14] = [
    ("Berlin", "Berlin", "DE"),
    ("München", "Bayern", "DE"),
    ("Hamburg", "Hamburg", "DE"),
    ("Paris", "Île-de-France", "FR"),
    ("Lyon", "Auvergne-Rhône-Alpes", "FR"),
    ("London", "England", "GB"),
    ("Manchester", "England", "GB"),
    ("New York", "NY", "US"),
    ("Austin", "TX", "US"),
    ("Madrid", "Comunidad de Madrid", "ES"),
    ("Milano", "Lombardia", "IT"),
    ("Amsterdam", "Noord-Holland", "NL"),
    ("Kraków", "Małopolskie", "PL"),
    ("Malmö", "Skåne", "SE"),
];

/// Cumulative weights of `PLACES`: big markets first.
pub(super) fn place_weights() -> &'static [f64] {
    static W: LazyLock<Vec<f64>> =
        LazyLock::new(|| cumulate([14.0, 8.0, 6.0, 10.0, 4.0, 11.0, 4.0, 12.0, 5.0, 7.0, 6.0, 5.0, 4.0, 3.0]));
    &W
}

/// The running sums of `weights`: a cumulative distribution to draw from by bisection.
pub(super) fn cumulate(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    weights
        .into_iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}
