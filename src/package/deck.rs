//! `case.pptx`: the case as a slide deck (Office Open XML, ECMA-376), ready to drop into a
//! talk. A title slide, then one slide per key image or cine (an animated GIF plays in
//! PowerPoint, Keynote and LibreOffice Impress), each fitted on a black slide above its
//! series' caption. Made from the same [`Case`] as `case.html`, so the two always agree.
//!
//! The deck is the smallest package those programs open without repair: one slide master,
//! one blank layout and a theme, written as fixed text here; only the slides and their
//! pictures vary. Like the rest of the package, it holds no time stamp and no author.

use std::fmt::Write;

use super::case::{Case, Picture};
use super::report::esc;
use super::{Compressed, Layout, ZipStream};

/// Slide size, 16:9, in English Metric Units (914,400 to the inch).
const SLIDE_W: u64 = 12_192_000;
const SLIDE_H: u64 = 6_858_000;
/// Margin round the picture, and the height kept for the caption under it.
const MARGIN: u64 = 228_600;
const CAPTION_H: u64 = 640_080;

const NS: &str = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#;
const XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const CT: &str = "application/vnd.openxmlformats-officedocument.presentationml";
/// An empty shape tree's own properties (every slide, layout and master starts with them).
const TREE: &str =
    r#"<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>"#;

/// The deck of the package laid out so far, as the bytes of a `.pptx` file.
pub fn case_pptx(layout: &Layout) -> Vec<u8> {
    let case = Case::of(layout);
    let pictures: Vec<(&str, &Picture)> = case
        .series
        .iter()
        .flat_map(|s| s.pictures.iter().map(move |p| (s.caption.as_str(), p)))
        .collect();
    let mut zip = ZipStream::new();
    let mut out = Vec::new();
    let mut add = |name: &str, data: &[u8]| {
        // Pictures are compressed already: stored as they are.
        let c = if name.starts_with("ppt/media/") {
            Compressed::stored(data)
        } else {
            Compressed::of(data)
        };
        out.extend(zip.add_compressed(name, &c));
    };

    let slides = pictures.len() + 1;
    let mut types = String::from(XML);
    types.push_str(r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Default Extension="gif" ContentType="image/gif"/>"#);
    let _ = write!(
        types,
        r#"<Override PartName="/ppt/presentation.xml" ContentType="{CT}.presentation.main+xml"/><Override PartName="/ppt/slideMasters/slideMaster1.xml" ContentType="{CT}.slideMaster+xml"/><Override PartName="/ppt/slideLayouts/slideLayout1.xml" ContentType="{CT}.slideLayout+xml"/><Override PartName="/ppt/theme/theme1.xml" ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/>"#
    );
    for n in 1..=slides {
        let _ = write!(
            types,
            r#"<Override PartName="/ppt/slides/slide{n}.xml" ContentType="{CT}.slide+xml"/>"#
        );
    }
    types.push_str("</Types>");
    add("[Content_Types].xml", types.as_bytes());
    add(
        "_rels/.rels",
        rels(&[("officeDocument", "ppt/presentation.xml")]).as_bytes(),
    );

    let mut presentation = format!(
        r#"{XML}<p:presentation {NS}><p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst><p:sldIdLst>"#
    );
    let mut targets = vec![
        ("slideMaster", "slideMasters/slideMaster1.xml".to_string()),
        ("theme", "theme/theme1.xml".to_string()),
    ];
    for n in 1..=slides {
        let _ = write!(
            presentation,
            r#"<p:sldId id="{}" r:id="rId{}"/>"#,
            255 + n,
            n + 2
        );
        targets.push(("slide", format!("slides/slide{n}.xml")));
    }
    // (Notes pages are portrait: the slide's size turned.)
    let _ = write!(
        presentation,
        r#"</p:sldIdLst><p:sldSz cx="{SLIDE_W}" cy="{SLIDE_H}"/><p:notesSz cx="{SLIDE_H}" cy="{SLIDE_W}"/></p:presentation>"#
    );
    add("ppt/presentation.xml", presentation.as_bytes());
    let targets: Vec<(&str, &str)> = targets.iter().map(|(k, t)| (*k, t.as_str())).collect();
    add("ppt/_rels/presentation.xml.rels", rels(&targets).as_bytes());

    add(
        "ppt/slideMasters/slideMaster1.xml",
        format!(
            r#"{XML}<p:sldMaster {NS}><p:cSld><p:spTree>{TREE}</p:spTree></p:cSld><p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" folHlink="folHlink"/><p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>"#
        )
        .as_bytes(),
    );
    add(
        "ppt/slideMasters/_rels/slideMaster1.xml.rels",
        rels(&[
            ("slideLayout", "../slideLayouts/slideLayout1.xml"),
            ("theme", "../theme/theme1.xml"),
        ])
        .as_bytes(),
    );
    add(
        "ppt/slideLayouts/slideLayout1.xml",
        format!(
            r#"{XML}<p:sldLayout {NS} type="blank" preserve="1"><p:cSld name="Blank"><p:spTree>{TREE}</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>"#
        )
        .as_bytes(),
    );
    add(
        "ppt/slideLayouts/_rels/slideLayout1.xml.rels",
        rels(&[("slideMaster", "../slideMasters/slideMaster1.xml")]).as_bytes(),
    );
    add("ppt/theme/theme1.xml", theme().as_bytes());

    // The title slide, then a slide per picture.
    let layout_rel = ("slideLayout", "../slideLayouts/slideLayout1.xml");
    let title = text_box(
        2,
        "Title",
        (MARGIN, SLIDE_H / 3),
        (SLIDE_W - 2 * MARGIN, SLIDE_H / 4),
        4000,
        &case.title,
    );
    add("ppt/slides/slide1.xml", slide(&title).as_bytes());
    add(
        "ppt/slides/_rels/slide1.xml.rels",
        rels(&[layout_rel]).as_bytes(),
    );
    for (i, (caption, picture)) in pictures.iter().enumerate() {
        let n = i + 2;
        let ext = if picture.is_cine() { "gif" } else { "png" };
        let media = format!("media/image{}.{ext}", i + 1);
        add(&format!("ppt/{media}"), picture.bytes);
        let media = format!("../{media}");
        let what = if picture.is_cine() {
            "Cine"
        } else {
            "Key image"
        };
        let shapes = picture_shape(picture.bytes, &format!("{what}: {caption}"))
            + &text_box(
                3,
                "Caption",
                (MARGIN, SLIDE_H - CAPTION_H),
                (SLIDE_W - 2 * MARGIN, CAPTION_H - MARGIN / 2),
                2000,
                caption,
            );
        add(
            &format!("ppt/slides/slide{n}.xml"),
            slide(&shapes).as_bytes(),
        );
        add(
            &format!("ppt/slides/_rels/slide{n}.xml.rels"),
            rels(&[layout_rel, ("image", media.as_str())]).as_bytes(),
        );
    }
    out.extend(zip.finish());
    out
}

/// A relationships part: `(type, target)` pairs (a type is the last part of its URI, e.g.
/// `slide`), numbered `rId1`, `rId2`, … in order.
fn rels(targets: &[(&str, &str)]) -> String {
    let mut s = format!(
        r#"{XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
    );
    for (i, (kind, target)) in targets.iter().enumerate() {
        let _ = write!(
            s,
            r#"<Relationship Id="rId{}" Type="{REL}/{kind}" Target="{target}"/>"#,
            i + 1
        );
    }
    s.push_str("</Relationships>");
    s
}

/// A slide on a black background holding `shapes`.
fn slide(shapes: &str) -> String {
    format!(
        r#"{XML}<p:sld {NS}><p:cSld><p:bg><p:bgPr><a:solidFill><a:srgbClr val="000000"/></a:solidFill><a:effectLst/></p:bgPr></p:bg><p:spTree>{TREE}{shapes}</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>"#
    )
}

/// A centred line of white text of `size` hundredths of a point in a box at `at` of `ext`.
fn text_box(id: u32, name: &str, at: (u64, u64), ext: (u64, u64), size: u32, text: &str) -> String {
    format!(
        r#"<p:sp><p:nvSpPr><p:cNvPr id="{id}" name="{name}"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm><a:off x="{}" y="{}"/><a:ext cx="{}" cy="{}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/></p:spPr><p:txBody><a:bodyPr wrap="square" anchor="ctr"><a:normAutofit/></a:bodyPr><a:lstStyle/><a:p><a:pPr algn="ctr"/><a:r><a:rPr lang="en-US" sz="{size}" dirty="0"><a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill></a:rPr><a:t>{}</a:t></a:r></a:p></p:txBody></p:sp>"#,
        at.0,
        at.1,
        ext.0,
        ext.1,
        esc(text)
    )
}

/// The picture (relationship `rId2`) fitted, its proportions kept, in the slide above the
/// caption.
fn picture_shape(bytes: &[u8], description: &str) -> String {
    let (w, h) = picture_size(bytes).unwrap_or((4, 3));
    let (area_w, area_h) = (SLIDE_W - 2 * MARGIN, SLIDE_H - CAPTION_H - MARGIN);
    // The largest size of the picture's proportions that fits the area.
    let (cx, cy) = if area_w * h as u64 <= area_h * w as u64 {
        (area_w, area_w * h as u64 / w as u64)
    } else {
        (area_h * w as u64 / h as u64, area_h)
    };
    let (x, y) = ((SLIDE_W - cx) / 2, MARGIN + (area_h - cy) / 2);
    format!(
        r#"<p:pic><p:nvPicPr><p:cNvPr id="2" name="Picture" descr="{}"/><p:cNvPicPr><a:picLocks noChangeAspect="1"/></p:cNvPicPr><p:nvPr/></p:nvPicPr><p:blipFill><a:blip r:embed="rId2"/><a:stretch><a:fillRect/></a:stretch></p:blipFill><p:spPr><a:xfrm><a:off x="{x}" y="{y}"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr></p:pic>"#,
        esc(description)
    )
}

/// The width and height of a PNG (its header) or a GIF (its logical screen).
fn picture_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let le = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as u32);
    let size = if bytes.starts_with(b"\x89PNG") {
        (be(16)?, be(20)?)
    } else if bytes.starts_with(b"GIF8") {
        (le(6)?, le(8)?)
    } else {
        return None;
    };
    (size.0 > 0 && size.1 > 0).then_some(size)
}

/// A complete theme (the slide master needs one): Office's colours and fonts, plain fills.
fn theme() -> String {
    let colours = [
        ("dk1", "000000"),
        ("lt1", "FFFFFF"),
        ("dk2", "1F2937"),
        ("lt2", "E5E7EB"),
        ("accent1", "2563EB"),
        ("accent2", "DC2626"),
        ("accent3", "16A34A"),
        ("accent4", "CA8A04"),
        ("accent5", "7C3AED"),
        ("accent6", "0891B2"),
        ("hlink", "1D4ED8"),
        ("folHlink", "6D28D9"),
    ]
    .iter()
    .map(|(k, v)| format!(r#"<a:{k}><a:srgbClr val="{v}"/></a:{k}>"#))
    .collect::<String>();
    let fill = r#"<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>"#;
    let line = r#"<a:ln w="9525"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln>"#;
    let effect = "<a:effectStyle><a:effectLst/></a:effectStyle>";
    let fonts = r#"<a:latin typeface="Calibri"/><a:ea typeface=""/><a:cs typeface=""/>"#;
    format!(
        r#"{XML}<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="Obscura"><a:themeElements><a:clrScheme name="Obscura">{colours}</a:clrScheme><a:fontScheme name="Obscura"><a:majorFont>{fonts}</a:majorFont><a:minorFont>{fonts}</a:minorFont></a:fontScheme><a:fmtScheme name="Obscura"><a:fillStyleLst>{fill}{fill}{fill}</a:fillStyleLst><a:lnStyleLst>{line}{line}{line}</a:lnStyleLst><a:effectStyleLst>{effect}{effect}{effect}</a:effectStyleLst><a:bgFillStyleLst>{fill}{fill}{fill}</a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deck_has_a_title_slide_and_a_slide_per_picture() {
        let bytes = case_pptx(super::super::case::sample_package().layout_mut());
        let zip = crate::input::ZipArchive::new(&bytes).expect("a valid archive");
        let names: Vec<String> = zip.files().map(|e| e.name.clone()).collect();
        assert_eq!(names[0], "[Content_Types].xml");
        let slides = names
            .iter()
            .filter(|n| n.starts_with("ppt/slides/slide"))
            .count();
        assert_eq!(slides, 4, "{names:?}");
        assert_eq!(
            names.iter().filter(|n| n.starts_with("ppt/media/")).count(),
            3
        );
        let read = |name: &str| {
            let e = zip.files().find(|e| e.name == name).expect(name);
            String::from_utf8(zip.read(e).expect("reads")).expect("UTF-8")
        };
        let types = read("[Content_Types].xml");
        for n in 1..=4 {
            assert!(types.contains(&format!("/ppt/slides/slide{n}.xml")));
            assert!(
                read("ppt/_rels/presentation.xml.rels").contains(&format!("slides/slide{n}.xml"))
            );
        }
        assert!(read("ppt/slides/slide1.xml").contains("Teaching cases (2 patients)"));
        let picture = read("ppt/slides/slide2.xml");
        assert!(picture.contains(r#"r:embed="rId2""#) && picture.contains("<a:t>CT, "));
        assert!(read("ppt/slides/_rels/slide2.xml.rels").contains("../media/image1.png"));
        // Every part is well-formed enough to have balanced tags, and nothing names a
        // fake patient.
        for name in &names {
            if name.ends_with(".xml") || name.ends_with(".rels") {
                let text = read(name);
                assert_eq!(
                    text.matches('<').count(),
                    text.matches('>').count(),
                    "{name}"
                );
                for phi in ["FAKEDOE", "JANEFAKE", "FAKESMITH"] {
                    assert!(!text.contains(phi), "{phi} in {name}");
                }
            }
        }
    }

    #[test]
    fn pictures_are_fitted_with_their_proportions() {
        let png = crate::package::png::encode(4, 1, &[9; 16]);
        assert_eq!(picture_size(&png), Some((4, 1)));
        let shape = picture_shape(&png, "wide");
        let number = |key: &str| -> u64 {
            let at = shape.find(key).expect(key) + key.len();
            shape[at..].split('"').next().unwrap().parse().unwrap()
        };
        let (cx, cy) = (number("cx=\""), number("cy=\""));
        assert_eq!(cx, SLIDE_W - 2 * MARGIN);
        assert_eq!(cx / cy, 4);
        let mut gif = crate::package::gif::Writer::new(2, 5, true, 100);
        gif.add(&[0; 40]);
        assert_eq!(picture_size(&gif.finish()), Some((2, 5)));
        assert_eq!(picture_size(b"not a picture"), None);
    }
}
