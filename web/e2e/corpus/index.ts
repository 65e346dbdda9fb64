/**
 * Transfer-syntax corpus check: which files to render (cases.ts), their references (references.ts),
 * how they reach Orthanc (orthanc.ts) or are made without the corpus (generated.ts), and how a
 * rendered viewport is compared with a reference (capture.ts).
 *
 * Method. The viewer renders a frame with its own window (the VOI it chose: the file's window, else
 * min–max). `dcm2pnm` renders the same frame to 8 bits with that same window, passed as center + 0.5 /
 * width + 1 so DICOM's linear VOI function equals Cornerstone's (value − lower) / width. For codecs DCMTK
 * 3.6.7 lacks, an independent decoder makes the reference (j2k-references.ts): JPEG 2000 is written
 * uncompressed by GDCM and then rendered by dcm2pnm the same way; HTJ2K (8-bit colour in the corpus) is
 * decoded by OpenJPEG. Where the corpus holds the same image in a syntax DCMTK decodes, that twin is a
 * reference too. Colour images are rendered without a window on both sides. The viewport canvas is read
 * back and every canvas pixel that shows the image is mapped to image coordinates (the mapping comes from
 * the viewer's own imageToPage hook); there the canvas must equal the reference up to the resampling the
 * viewport does: each channel must lie within the range of the 2×2 reference pixels around that position
 * (`excess` = how far outside, in 8-bit levels), and its mean distance from the bilinear reference value
 * is reported too (`mean`). Tolerances are in `tolerance` (cases.ts).
 */
export * from './capture';
export * from './cases';
export * from './generated';
export * from './orthanc';
export * from './references';
