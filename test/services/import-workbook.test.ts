import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { Readable } from 'node:stream';
import t from 'tap';
import { readImportWorkbook } from '../../src/services/import-workbook.ts';
import { workbookOf } from '../helpers/import-files.ts';

/**
 * The batch workbook reader (src/services/import-workbook.ts) streams the first worksheet and,
 * when exceljs's streaming reader fails inside itself, reads the file once more in memory before
 * calling it unreadable. A soak run saw the streaming reader reject a valid upload once; a file
 * whose zip holds the shared strings before the worksheet and `xl/workbook.xml` last (any zip
 * writer may order entries so) makes it fail every time, with that same error.
 */

/** The same workbook with its zip entries reordered: rels and shared strings, then the worksheet, `xl/workbook.xml` last. */
async function reordered(file: Buffer): Promise<Buffer> {
  const source = await JSZip.loadAsync(file);
  const names = Object.keys(source.files).filter((n) => !source.files[n]!.dir);
  const rank = (n: string) => (n === 'xl/workbook.xml' ? 3 : /^xl\/worksheets\/sheet\d+\.xml$/.test(n) ? 2 : n === 'xl/sharedStrings.xml' || n === 'xl/_rels/workbook.xml.rels' ? 0 : 1);
  const target = new JSZip();
  for (const name of [...names].sort((a, b) => rank(a) - rank(b))) target.file(name, await source.files[name]!.async('nodebuffer'));
  return target.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

async function streamedAlone(file: Buffer): Promise<string> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from([file]), { sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit', entries: 'emit' });
  try {
    for await (const sheet of reader) for await (const _row of sheet as AsyncIterable<ExcelJS.Row>) void _row;
    return 'read';
  } catch (error) {
    return (error as Error).message;
  }
}

t.test('a valid workbook the streaming reader cannot read is read in memory, with the same rows', async (t) => {
  const rows = [
    ['2026000001', '张伟', 'A-101'],
    ['2026000002', '李娜', 'A-102'],
  ];
  const plain = await workbookOf(['学号', '姓名', '宿舍'], rows);
  const odd = await reordered(plain);
  t.match(await streamedAlone(odd), /reading 'sheets'/, "exceljs's streaming reader alone fails on it");
  const expected = await readImportWorkbook('check-ins', plain, 100);
  t.same(expected.map((r) => [r.row, Object.fromEntries(r.cells)]), [
    [2, { studentId: '2026000001', name: '张伟', dormitory: 'A-101' }],
    [3, { studentId: '2026000002', name: '李娜', dormitory: 'A-102' }],
  ], 'the usual file: its rows under the resolved headers');
  t.same(await readImportWorkbook('check-ins', odd, 100), expected, 'the reordered file: the same rows');
});

t.test('what both readers refuse is IMPORT_FILE_UNREADABLE naming the file; a header problem stays a header problem', async (t) => {
  await t.rejects(readImportWorkbook('check-ins', Buffer.from('not a workbook at all'), 100), { code: 'IMPORT_FILE_UNREADABLE', field: 'file' });
  const noStudent = await reordered(await workbookOf(['姓名', '宿舍'], [['张伟', 'A-101']]));
  await t.rejects(readImportWorkbook('check-ins', noStudent, 100), { code: 'IMPORT_HEADER_MISSING', field: 'studentId' }, 'read in memory, its missing column is named');
  const many = await reordered(await workbookOf(['学号', '宿舍'], Array.from({ length: 5 }, (_, i) => [`S${i}`, 'A-101'])));
  await t.rejects(readImportWorkbook('check-ins', many, 3), { code: 'IMPORT_TOO_MANY_ROWS', field: 'file' }, 'and the row limit holds');
});
