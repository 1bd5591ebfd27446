use super::*;

fn check(cases: &[(&str, &str)]) {
    let mut failed = Vec::new();
    for &(input, want) in cases {
        let got = normalize_numbers(input);
        if got != want {
            failed.push(format!("{input:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failed.is_empty(), "{} case(s) failed:\n{}", failed.len(), failed.join("\n"));
}

#[test]
fn english_digit_sequences() {
    check(&[
        ("four five six", "456"),
        ("two zero two three one one eight eight", "20231188"),
        ("my order is two zero two three one one eight eight thanks", "my order is 20231188 thanks"),
        ("four one five five five five zero one three four", "4155550134"),
        ("four oh five", "405"),
        ("oh one two", "012"),
        ("double five", "55"),
        ("triple seven", "777"),
        ("double oh seven", "007"),
        ("one three eight double zero one three eight triple zero", "13800138000"),
        ("Two Zero Two Three", "2023"),
        ("2023 one one eight eight", "20231188"),
        ("eleven eighty eight", "1188"),
    ]);
}

#[test]
fn english_cardinals() {
    check(&[
        ("twenty five", "25"),
        ("twenty-five dollars", "25 dollars"),
        ("one hundred and twenty", "120"),
        ("one hundred twenty three", "123"),
        ("two thousand twenty three", "2023"),
        ("twenty twenty three", "2023"),
        ("nineteen eighty five", "1985"),
        ("fifteen hundred", "1500"),
        ("a hundred dollars", "100 dollars"),
        ("three point five", "3.5"),
        ("three point one four", "3.14"),
        ("two thousand and five", "2005"),
        ("one million two hundred thousand", "1200000"),
        ("5 hundred", "500"),
        ("2 thousand 500", "2500"),
        ("2.5 million", "2500000"),
        ("zero", "0"),
        ("november twenty first", "november 21st"),
        ("the thirty first of may", "the 31st of may"),
    ]);
}

#[test]
fn english_words_left_alone() {
    check(&[
        ("someone often plays tennis", "someone often plays tennis"),
        ("no one answered", "no one answered"),
        ("I want this one", "I want this one"),
        ("the 1st one", "the 1st one"),
        ("they help one another", "they help one another"),
        ("oh I see", "oh I see"),
        ("oh two things", "oh 2 things"),
        ("I want to return one item", "I want to return 1 item"),
        ("one of my orders", "1 of my orders"),
        ("the first time", "the first time"),
        ("wait a second", "wait a second"),
        ("double check it", "double check it"),
        ("at that point", "at that point"),
        ("a lot of money", "a lot of money"),
        ("21st", "21st"),
        ("mp3 player", "mp3 player"),
    ]);
}

#[test]
fn digit_runs_merge_only_across_spaces_and_phone_dashes() {
    check(&[
        ("138 0013 8000", "13800138000"),
        ("order 2023 1188", "order 20231188"),
        ("555-0134", "5550134"),
        ("415-555-0134", "4155550134"),
        ("order 2 items 3", "order 2 items 3"),
        ("I have 2 orders", "I have 2 orders"),
        ("5-10 days", "5-10 days"),
        ("100-200 dollars", "100-200 dollars"),
        ("2026-11-21", "2026-11-21"),
        ("11/21", "11/21"),
        ("$25.50 and 3.5 2", "$25.50 and 3.5 2"),
        ("1,250 dollars", "1,250 dollars"),
        ("10:30", "10:30"),
    ]);
}

#[test]
fn chinese_digit_sequences() {
    check(&[
        ("四五六", "456"),
        ("二零二三一一八八", "20231188"),
        ("订单号二零二三一一八八", "订单号20231188"),
        ("幺三八零零幺三八零零零", "13800138000"),
        ("二〇二三年", "2023年"),
        ("二零 二三 一一 八八", "20231188"),
        ("２０２３１１８８", "20231188"),
        ("2023一一八八", "20231188"),
        ("尾号是八九", "尾号是89"),
    ]);
}

#[test]
fn chinese_cardinals() {
    check(&[
        ("二十五", "25"),
        ("一百二十", "120"),
        ("三千五百", "3500"),
        ("两万", "20000"),
        ("十一", "11"),
        ("三点五", "3.5"),
        ("一百零五", "105"),
        ("一百二", "120"),
        ("两万五", "25000"),
        ("一千零一十", "1010"),
        ("一亿两千万", "120000000"),
        ("一点五万", "15000"),
        ("2万", "20000"),
        ("1.5万", "15000"),
        ("二十五块五", "25块5"),
        ("三百块钱", "300块钱"),
        ("十一月二十一号", "11月21号"),
        ("十一月一号", "11月1号"),
        ("两个", "2个"),
        ("三天前", "3天前"),
        ("请按一", "请按1"),
        ("第一次", "第1次"),
        ("第三个订单", "第3个订单"),
        ("三点五分", "3点5分"),
        ("三点十分", "3点10分"),
        ("十分钟", "10分钟"),
        ("三分之一", "3分之1"),
        ("百分之五十", "百分之50"),
    ]);
}

#[test]
fn chinese_words_left_alone() {
    check(&[
        ("等一下", "等一下"),
        ("一直", "一直"),
        ("一起", "一起"),
        ("一样", "一样"),
        ("统一", "统一"),
        ("万一", "万一"),
        ("十分满意", "十分满意"),
        ("一些问题", "一些问题"),
        ("三星手机", "三星手机"),
        ("我买了一个杯子", "我买了一个杯子"),
        ("一点点", "一点点"),
        ("千万不要", "千万不要"),
        ("四川", "四川"),
        ("两边", "两边"),
        ("七八个", "七八个"),
        ("三五天", "三五天"),
        ("乱七八糟", "乱七八糟"),
        ("唯一号码", "唯一号码"),
        ("其中之一", "其中之一"),
        ("周一", "周一"),
        ("上星期五", "上星期五"),
        ("一周一次", "一周一次"),
        ("零钱", "零钱"),
        ("三四十个", "三四十个"),
        ("十几个", "十几个"),
        ("三星期", "3星期"),
    ]);
}

/// Inputs beyond the tables above for the idempotence checks: mixed, awkward, and odd.
const EXTRA: &[&str] = &[
    "oh twelve-thirty four",
    "oh 1 2",
    "twelve-thirty four",
    "call me at (415) 555-0134 or +86 138 0013 8000",
    "12-345-6789",
    "1 2-345",
    "v1.2.3万",
    "三5万",
    "我的订单号是 二零二三 一一八八 谢谢",
    "one hundred and",
    "a hundred and twenty three point five",
    "point five",
    "the one two three",
    "一亿亿亿亿亿亿亿",
    "nine hundred ninety nine billion nine hundred million",
    "一点五分",
    "十分之一",
    "- - 1 - 2 - -",
    "",
    "   ",
    "一",
    "oh",
];

fn all_inputs() -> Vec<String> {
    let mut inputs: Vec<String> = EXTRA.iter().map(|s| s.to_string()).collect();
    // Word salad from the vocabulary that the rules care about, built by a fixed LCG so that a
    // failure reproduces.
    let vocab = [
        "one", "two", "oh", "double", "twenty", "hundred", "and", "point", "five", "thousand", "a", "the", "no",
        "first", "-", " ", "12", "3.5", "555", "0134", "一", "二", "十", "百", "万", "点", "零", "两", "个", "下",
        "号", "月", "第", "周", "分", "之", "块", "三", "星", "幺", "2", "x",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut s = String::new();
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let words = 1 + (state >> 60) as usize;
        for _ in 0..words {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let w = vocab[(state >> 33) as usize % vocab.len()];
            s.push_str(w);
            if state & 1 == 0 && w.is_ascii() {
                s.push(' ');
            }
        }
        inputs.push(s);
    }
    inputs
}

#[test]
fn normalizing_twice_changes_nothing() {
    let mut failed = Vec::new();
    for input in all_inputs() {
        let once = normalize_numbers(&input);
        let twice = normalize_numbers(&once);
        if once != twice {
            failed.push(format!("{input:?} → {once:?} → {twice:?}"));
        }
    }
    assert!(failed.is_empty(), "{} not idempotent:\n{}", failed.len(), failed[..failed.len().min(20)].join("\n"));
}

#[test]
fn text_without_numbers_is_unchanged() {
    for s in ["Hello, how can I help you today?", "我想退货，可以吗？", "someone's order", "It's often late."]
    {
        assert_eq!(normalize_numbers(s), s);
    }
}

#[test]
fn scale_decimal_shifts_the_point() {
    assert_eq!(scale_decimal("1.5", 4), "15000");
    assert_eq!(scale_decimal("2", 3), "2000");
    assert_eq!(scale_decimal("1.23456", 4), "12345.6");
    assert_eq!(scale_decimal("0.5", 1), "5");
}
