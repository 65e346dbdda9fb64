/** Reading what a DICOM file is without parsing it: its transfer syntax, and how storescu proposes it. */

/** TransferSyntaxUID (0002,0010) from a Part 10 file's meta header, or undefined if there is none. */
export function transferSyntaxOf(file: Buffer): string | undefined {
  if (file.length < 132 || file.toString('latin1', 128, 132) !== 'DICM') return undefined;
  let offset = 132;
  while (offset + 8 <= file.length) {
    const group = file.readUInt16LE(offset);
    const element = file.readUInt16LE(offset + 2);
    if (group !== 0x0002) return undefined;
    const vr = file.toString('latin1', offset + 4, offset + 6);
    let length: number;
    let header: number;
    if (['OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'].includes(vr)) {
      if (offset + 12 > file.length) return undefined;
      length = file.readUInt32LE(offset + 8);
      header = 12;
    } else {
      length = file.readUInt16LE(offset + 6);
      header = 8;
    }
    if (element === 0x0010) {
      return file
        .toString('latin1', offset + header, Math.min(file.length, offset + header + length))
        .replace(/[\0 ]+$/, '')
        .trim();
    }
    offset += header + length;
  }
  return undefined;
}

/** storescu flag that proposes a transfer syntax ('' = uncompressed default), undefined if storescu cannot. */
export function storescuFlagFor(transferSyntaxUid: string): string | undefined {
  const flags: Record<string, string> = {
    '1.2.840.10008.1.2': '',
    '1.2.840.10008.1.2.1': '',
    '1.2.840.10008.1.2.2': '',
    '1.2.840.10008.1.2.1.99': '-xd',
    '1.2.840.10008.1.2.4.50': '-xy',
    '1.2.840.10008.1.2.4.51': '-xx',
    '1.2.840.10008.1.2.4.70': '-xs',
    '1.2.840.10008.1.2.4.80': '-xt',
    '1.2.840.10008.1.2.4.81': '-xu',
    '1.2.840.10008.1.2.4.90': '-xv',
    '1.2.840.10008.1.2.4.91': '-xw',
    '1.2.840.10008.1.2.5': '-xr',
  };
  return flags[transferSyntaxUid];
}
