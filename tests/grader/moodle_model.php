<?php
// A model of a Moodle assignment's offline-grading round trip, for the grader's tests.
//
// Written from reading mod/assign (gradingtable.php, feedback/offline/importgradeslib.php
// and locallib.php, feedback/file/importziplib.php) and lib/csvlib.class.php; it is not
// Moodle's code. What matters is that PHP itself decides what parses: strtotime() for the
// "Last modified (grade)" cell, fgetcsv() for the rows, iconv for the form's encoding.
//
//   php moodle_model.php download < {"site": ..., "state": ...}            -> the worksheet's bytes
//   php moodle_model.php upload   < {"site": ..., "state": ..., "csv_b64": ..., "encoding": ...,
//                                    "ignoremodified": false, "now": T}      -> {"grades", "feedback", "state"}
//   php moodle_model.php zip      < {"site": ..., "state": ..., "files": {path: sha1}, "now": T}
//                                                                            -> {"users", "added", "updated", "state"}
//   php moodle_model.php strtotime < ["text", ...]                          -> [int|false, ...]
//
// state: {"maxgrade": 16, "blind": false, "participants": {"348201": {"name", "email",
//         "submitted": T|null, "locked": bool, "grade": null | {"grade", "timemodified", "comment", "files"}}}}
// site: {"lang": "en"|"ja", "timezone": "Asia/Tokyo"}: the teacher's language and the server's time zone.

const STRINGS = [
    'en' => ['recordid' => 'Identifier', 'hiddenuser' => 'Participant ', 'fullname' => 'Full name',
             'email' => 'Email address', 'status' => 'Status', 'grade' => 'Grade', 'maxgrade' => 'Maximum grade',
             'gradecanbechanged' => 'Grade can be changed', 'lastmodifiedsubmission' => 'Last modified (submission)',
             'lastmodifiedgrade' => 'Last modified (grade)', 'comments' => 'Feedback comments', 'yes' => 'Yes',
             'no' => 'No', 'submitted' => 'Submitted for grading', 'graded' => 'Graded', 'new' => 'No submission'],
    'ja' => ['recordid' => 'ID', 'hiddenuser' => '参加者', 'fullname' => 'フルネーム', 'email' => 'メールアドレス',
             'status' => 'ステータス', 'grade' => '評点', 'maxgrade' => '最大評点', 'gradecanbechanged' => '評点変更可',
             'lastmodifiedsubmission' => '最終更新日時 (提出)', 'lastmodifiedgrade' => '最終更新日時 (評定)',
             'comments' => 'フィードバックコメント', 'yes' => 'Yes', 'no' => 'No', 'submitted' => '評定のために提出済み',
             'graded' => '評定済み', 'new' => '提出なし'],
];
const JA_WEEKDAYS = ['日曜日', '月曜日', '火曜日', '水曜日', '木曜日', '金曜日', '土曜日'];

// userdate($t) with strftimedaydatetime, in the teacher's time zone, day and hour without a leading zero
// where Moodle strips it: en "%A, %d %B %Y, %I:%M %p", ja "%Y年 %m月 %d日(%A) %H:%M".
function userdate(int $time, string $lang): string {
    if ($lang === 'ja') {
        return date('Y年 m月 j日', $time) . '(' . JA_WEEKDAYS[(int)date('w', $time)] . ') ' . date('H:i', $time);
    }
    return date('l, j F Y, g:i A', $time);
}

function download(array $site, array $state): string {
    $s = STRINGS[$site['lang']];
    $header = [$s['recordid']];
    if (empty($state['blind'])) {
        array_push($header, $s['fullname'], $s['email']);
    }
    array_push($header, $s['status'], $s['grade'], $s['maxgrade'], $s['gradecanbechanged'],
               $s['lastmodifiedsubmission'], $s['lastmodifiedgrade'], $s['comments']);
    $out = fopen('php://memory', 'w+');
    fwrite($out, "\xEF\xBB\xBF");
    fputcsv($out, $header, ',', '"', '');
    foreach ($state['participants'] as $id => $p) {
        $grade = $p['grade'];
        $graded = $grade && $grade['grade'] !== null && $grade['grade'] >= 0;
        $status = $p['submitted'] ? $s['submitted'] : $s['new'];
        $row = [$s['hiddenuser'] . $id];
        if (empty($state['blind'])) {
            array_push($row, $p['name'], $p['email']);
        }
        array_push($row, $graded ? "$status - {$s['graded']}" : $status,
                   $graded ? number_format($grade['grade'], 2, '.', '') : '',
                   number_format($state['maxgrade'], 2, '.', ''),
                   !empty($p['locked']) ? $s['no'] : $s['yes'],
                   $p['submitted'] ? userdate($p['submitted'], $site['lang']) : '-',
                   // gradingtable::col_timemarked forces the date in downloads whenever a grade record exists.
                   $grade ? userdate($grade['timemodified'], $site['lang']) : '-',
                   $grade ? $grade['comment'] : '');
        fputcsv($out, $row, ',', '"', '');
    }
    rewind($out);
    return stream_get_contents($out);
}

// assign::get_user_grade($userid, true): a new record is stamped with the submission's time.
function &user_grade(array &$state, string $id, int $now) {
    $p = &$state['participants'][$id];
    if (!$p['grade']) {
        $p['grade'] = ['grade' => -1, 'timemodified' => $p['submitted'] ?: $now, 'comment' => '', 'files' => []];
    }
    return $p['grade'];
}

// csv_import_reader::load_csv_content: convert, drop the byte-order mark, normalise newlines, trim, fgetcsv.
function read_csv(string $content, string $encoding) {
    $content = strtolower($encoding) === 'utf-8' ? @iconv('UTF-8', 'UTF-8//IGNORE', $content)
                                                 : @iconv($encoding, 'UTF-8//TRANSLIT', $content);
    if (strncmp($content, "\xEF\xBB\xBF", 3) === 0) {
        $content = substr($content, 3);
    }
    $content = trim(preg_replace('!\r\n?!', "\n", $content));
    $fp = fopen('php://memory', 'w+');
    fwrite($fp, $content);
    rewind($fp);
    $rows = [];
    while ($fields = fgetcsv($fp, 0, ',', '"')) {
        if (count($fields) > 1 || $fields[0] !== null) {
            $rows[] = $fields;
        }
    }
    foreach ($rows as $row) {
        if (count($row) !== count($rows[0])) {
            return 'csvweirdcolumns';
        }
    }
    return $rows ?: 'csvemptyfile';
}

function unformat_float($text) {
    $text = trim((string)$text);
    return $text === '' ? null : (float)str_replace(' ', '', $text);   // decsep is '.' in en and ja
}

function upload(array $site, array &$state, string $csv, string $encoding, bool $ignoremodified, int $now): array {
    $s = STRINGS[$site['lang']];
    $rows = read_csv($csv, $encoding);
    if (!is_array($rows)) {
        return ['error' => $rows];
    }
    $columns = array_shift($rows);
    $find = fn($title) => ($i = array_search($title, $columns, true)) === false ? -1 : $i;
    [$idindex, $gradeindex, $modifiedindex] = [$find($s['recordid']), $find($s['grade']),
                                               $find($s['lastmodifiedgrade'])];
    $commentindex = $find($s['comments']);
    if ($idindex < 0 || $gradeindex < 0 || $modifiedindex < 0) {
        return ['error' => 'invalidgradeimport'];
    }
    $grades = $feedback = 0;
    foreach ($rows as $record) {
        $id = substr($record[$idindex], strlen($s['hiddenuser']));
        if (!ctype_digit($id) || !isset($state['participants'][$id])) {
            continue;
        }
        $p = &$state['participants'][$id];
        $modified = strtotime($record[$modifiedindex]);
        $usergrade = $p['grade'];
        $grade = unformat_float($record[$gradeindex]);
        // Do not count the seconds; strtotime()'s false is time 0 here, as in PHP's arithmetic.
        $stale = $usergrade && $usergrade['timemodified'] > ((int)$modified + 60);
        $skip = ($usergrade && $usergrade['grade'] == $grade) || $grade === null || $grade < 0
             || (!$ignoremodified && $stale) || !empty($p['locked']) || $grade > $state['maxgrade'];
        if (!$skip) {
            $g = &user_grade($state, $id, $now);
            $g['grade'] = $grade;
            $g['timemodified'] = $now;                          // assign::update_grade
            $grades++;
        }
        if (($ignoremodified || !$stale) && $commentindex > 0) {
            $old = $usergrade ? (string)$usergrade['comment'] : '';
            if ($record[$commentindex] != $old) {
                $g = &user_grade($state, $id, $now);
                $g['comment'] = $record[$commentindex];
                $g['timemodified'] = $now;                      // pushed to the gradebook: update_grade again
                $feedback++;
            }
        }
        unset($p, $g);
    }
    return ['grades' => $grades, 'feedback' => $feedback, 'state' => $state];
}

// assignfeedback_file_zip_importer::is_valid_filename_for_import and import_zip_files.
function import_zip(array &$state, array $files, int $now): array {
    $users = [];
    $added = $updated = 0;
    foreach ($files as $path => $hash) {
        $name = basename($path);
        if (substr($path, -1) === '/' || $name[0] === '.' || $name[0] === '~') {
            continue;
        }
        $parts = explode('/', '/import/' . $path);
        while ($parts) {
            $info = explode('_', array_shift($parts), 5);
            if (count($info) < 4 || !is_numeric($info[1]) || !isset($state['participants'][(string)($info[1] + 0)])) {
                continue;
            }
            if ($info[2] !== 'assignfeedback' || !in_array($info[3], ['file', 'comments', 'editpdf', 'offline'])) {
                continue;
            }
            array_unshift($parts, $info[4] ?? '');
            $filename = implode('/', $parts);
            $id = (string)($info[1] + 0);
            $existing = $state['participants'][$id]['grade']['files'][$filename] ?? null;
            if ($existing !== $hash) {
                $g = &user_grade($state, $id, $now);
                $existing === null ? $added++ : $updated++;
                $g['files'][$filename] = $hash;
                $users[$id] = true;
                unset($g);
            }
            break;
        }
    }
    return ['users' => count($users), 'added' => $added, 'updated' => $updated, 'state' => $state];
}

$input = json_decode(stream_get_contents(STDIN), true);
$mode = $argv[1] ?? '';
if ($mode === 'strtotime') {
    date_default_timezone_set('Asia/Tokyo');
    echo json_encode(array_map('strtotime', $input));
    exit(0);
}
date_default_timezone_set($input['site']['timezone']);
$state = $input['state'];
if ($mode === 'download') {
    echo download($input['site'], $state);
} elseif ($mode === 'upload') {
    echo json_encode(upload($input['site'], $state, base64_decode($input['csv_b64']), $input['encoding'],
                            (bool)$input['ignoremodified'], $input['now']), JSON_UNESCAPED_UNICODE);
} elseif ($mode === 'zip') {
    echo json_encode(import_zip($state, $input['files'], $input['now']), JSON_UNESCAPED_UNICODE);
} else {
    fwrite(STDERR, "usage: php moodle_model.php download|upload|zip|strtotime < input.json\n");
    exit(2);
}
