"""Fixed vocabularies the entity extractor uses alongside the store's own catalog."""

from __future__ import annotations

COLOURS_EN: tuple[str, ...] = (
    "black", "white", "red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "grey", "gray",
    "silver", "gold", "beige", "navy", "navy blue", "turquoise", "teal", "maroon", "burgundy", "cream",
    "ivory", "khaki", "olive", "lilac", "lavender", "violet", "magenta", "cyan", "charcoal", "rose gold",
    "multicolour", "multicolor", "rainbow", "transparent", "clear", "light blue", "dark blue", "sky blue",
)
# Chinese colour words -> the English canonical name, so slots compare across languages.
COLOURS_ZH: dict[str, str] = {
    "黑色": "black", "白色": "white", "红色": "red", "蓝色": "blue", "绿色": "green", "黄色": "yellow",
    "橙色": "orange", "紫色": "purple", "粉色": "pink", "粉红色": "pink", "棕色": "brown", "咖啡色": "brown",
    "灰色": "grey", "银色": "silver", "金色": "gold", "米色": "beige", "藏青色": "navy", "卡其色": "khaki",
    "彩色": "multicolour", "透明": "transparent", "深蓝色": "dark blue", "浅蓝色": "light blue",
}
ACCOUNT_TYPES: tuple[str, ...] = (
    "free", "standard", "premium", "gold", "platinum", "pro", "business", "basic", "freemium", "personal",
    "family", "student", "corporate", "enterprise", "vip",
)
CURRENCY_WORDS: dict[str, str] = {
    "us$": "USD", "usd": "USD", "$": "USD", "dollar": "USD", "buck": "USD",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "quid": "GBP",
    "€": "EUR", "eur": "EUR", "euro": "EUR",
    "¥": "CNY", "￥": "CNY", "rmb": "CNY", "yuan": "CNY", "元": "CNY", "块": "CNY",
}
COUNTRIES: frozenset[str] = frozenset(c.lower() for c in (
    "Afghanistan", "Albania", "Algeria", "Argentina", "Armenia", "Australia", "Austria", "Bangladesh",
    "Belgium", "Bolivia", "Brazil", "Bulgaria", "Cambodia", "Canada", "Chile", "China", "Colombia",
    "Costa Rica", "Croatia", "Cuba", "Cyprus", "Czech Republic", "Czechia", "Denmark", "Ecuador", "Egypt",
    "England", "Estonia", "Ethiopia", "Finland", "France", "Germany", "Ghana", "Greece", "Guatemala",
    "Hong Kong", "Hungary", "Iceland", "India", "Indonesia", "Iran", "Iraq", "Ireland", "Israel", "Italy",
    "Jamaica", "Japan", "Jordan", "Kazakhstan", "Kenya", "Korea", "South Korea", "Kuwait", "Latvia",
    "Lebanon", "Lithuania", "Luxembourg", "Malaysia", "Malta", "Mexico", "Morocco", "Nepal", "Netherlands",
    "New Zealand", "Nigeria", "Norway", "Pakistan", "Panama", "Paraguay", "Peru", "Philippines", "Poland",
    "Portugal", "Qatar", "Romania", "Russia", "Saudi Arabia", "Scotland", "Serbia", "Singapore", "Slovakia",
    "Slovenia", "South Africa", "Spain", "Sri Lanka", "Sweden", "Switzerland", "Taiwan", "Thailand",
    "Tunisia", "Turkey", "Ukraine", "United Arab Emirates", "UAE", "United Kingdom", "UK", "United States",
    "USA", "US", "America", "Uruguay", "Venezuela", "Vietnam", "Wales",
))
