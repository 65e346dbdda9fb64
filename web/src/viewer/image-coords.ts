/**
 * Image pixel ↔ patient (world) coordinates the way the stack viewport renders the image.
 *
 * DICOM PixelSpacing (0028,0030) is [row spacing (vertical, between rows), column spacing (horizontal,
 * between columns)]; Cornerstone's image plane module calls them rowPixelSpacing / columnPixelSpacing,
 * and its renderer lays the image out with x (along the row cosines) at columnPixelSpacing and y (along
 * the column cosines) at rowPixelSpacing (getImageDataMetadata). Cornerstone 5.x's own utilities
 * `imageToWorldCoords` / `worldToImageCoords` pair the axes the other way round (cornerstone3D issue
 * #2758), so for non-square pixels they disagree with the rendered image; these do not.
 *
 * Image coordinates are (column x, row y) with (0, 0) the outer corner of the first pixel and pixel
 * centres at +0.5, the same convention as Cornerstone's utilities.
 */

export interface ImagePlaneLike {
  imagePositionPatient?: ArrayLike<number> | null;
  rowCosines?: ArrayLike<number> | null;
  columnCosines?: ArrayLike<number> | null;
  /** Spacing between rows (vertical): PixelSpacing[0]. */
  rowPixelSpacing?: number | null;
  /** Spacing between columns (horizontal): PixelSpacing[1]. */
  columnPixelSpacing?: number | null;
}

/** The plane with the defaults Cornerstone renders with when a value is missing. */
function resolved(plane: ImagePlaneLike) {
  return {
    origin: plane.imagePositionPatient ?? [0, 0, 0],
    row: plane.rowCosines ?? [1, 0, 0],
    column: plane.columnCosines ?? [0, 1, 0],
    // x advances along the row cosines by the column spacing, y along the column cosines by the row spacing
    xSpacing: plane.columnPixelSpacing || 1,
    ySpacing: plane.rowPixelSpacing || 1,
  };
}

export function imageToWorld(plane: ImagePlaneLike, [x, y]: readonly [number, number] | number[]): [number, number, number] {
  const { origin, row, column, xSpacing, ySpacing } = resolved(plane);
  const u = xSpacing * ((x ?? 0) - 0.5);
  const v = ySpacing * ((y ?? 0) - 0.5);
  return [0, 1, 2].map((i) => origin[i]! + row[i]! * u + column[i]! * v) as [number, number, number];
}

export function worldToImage(plane: ImagePlaneLike, world: ArrayLike<number>): [number, number] {
  const { origin, row, column, xSpacing, ySpacing } = resolved(plane);
  const d = [0, 1, 2].map((i) => world[i]! - origin[i]!);
  const along = (axis: ArrayLike<number>) => d[0]! * axis[0]! + d[1]! * axis[1]! + d[2]! * axis[2]!;
  return [along(row) / xSpacing + 0.5, along(column) / ySpacing + 0.5];
}
